//! What an order costs the system, from figures taken before and after a run on the same
//! running system: durable transactions and commits, SQL statements, events published and
//! consumed, CPU seconds, bytes written — per service where the figure can be attributed.
//!
//! Sources, each the cheapest exact one at hand:
//! - events and the system's own counters: each service database's `outbox` and `inbox`
//!   rows, and on SQLite the group commit's counts (`GET /ops/messaging`: write transactions
//!   and the `COMMIT`s, i.e. fsyncs, that served them);
//! - statements: sqlx reports each statement it ran as a `sqlx::query` tracing event, which
//!   [`StatementCounter`] counts (with its time) by its first words; on PostgreSQL the server
//!   counts them too, per database (`pg_stat_statements`), as well as transactions
//!   (`pg_stat_database`) and WAL bytes and syncs (`pg_stat_wal`);
//! - CPU: `/proc/<pid>/stat` of this process (by thread name), of PostgreSQL's backends (by
//!   database, from their process titles) and of the NATS servers; bytes written:
//!   `/proc/<pid>/io`.
//!
//! The benchmark's own reads of the services' databases start with [`OBSERVER`], so both
//! counters leave them out.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// The comment every statement of the benchmark itself starts with: counted apart.
pub const OBSERVER: &str = "/* mcf-bench */";

/// Counts the statements sqlx runs in this process, by their first four words (sqlx's
/// summary), with their time; statements starting with [`OBSERVER`] are left out. Install
/// it with a filter letting `sqlx::query` events through at `DEBUG` (sqlx only builds the
/// event when someone listens).
#[derive(Clone, Default)]
pub struct StatementCounter {
    by_summary: Arc<Mutex<BTreeMap<String, StatementFigures>>>,
}

/// How often a statement ran and how long it took in total.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StatementFigures {
    pub count: u64,
    pub seconds: f64,
}

impl StatementCounter {
    /// The counts so far, by summary.
    pub fn snapshot(&self) -> BTreeMap<String, StatementFigures> {
        self.by_summary
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[derive(Default)]
struct StatementVisit {
    summary: Option<String>,
    seconds: f64,
}

impl Visit for StatementVisit {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "summary" {
            self.summary = Some(value.to_owned());
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.seconds = value;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" && self.summary.is_none() {
            self.summary = Some(format!("{value:?}").trim_matches('"').to_owned());
        }
    }
}

impl<S: Subscriber> Layer<S> for StatementCounter {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut visit = StatementVisit::default();
        event.record(&mut visit);
        let Some(summary) = visit.summary else {
            return;
        };
        // sqlx marks a summary shorter than the statement with a trailing ellipsis.
        let summary = summary.trim_end_matches('…').trim_end().to_owned();
        if summary.starts_with(OBSERVER) {
            return;
        }
        let mut by_summary = self.by_summary.lock().unwrap_or_else(|e| e.into_inner());
        let figures = by_summary.entry(summary).or_default();
        figures.count += 1;
        figures.seconds += visit.seconds;
    }
}

/// CPU seconds (user + system) of a process: its own, and its children's that ended and
/// were waited for (how PostgreSQL's ended backends still count).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cpu {
    pub own: f64,
    pub ended_children: f64,
}

/// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on Linux in practice).
fn ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The fields of a `/proc/.../stat` file after the command name (field 3, the state, is the
/// first): the name is in parentheses and may hold spaces.
fn stat_fields(path: &str) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(path).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    // The state is a letter: kept as 0 so indexes stay those of proc(5) minus 3.
    Some(
        rest.split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect(),
    )
}

fn cpu_of(fields: &[u64]) -> Option<Cpu> {
    let tick = ticks_per_second();
    let at = |i: usize| fields.get(i).copied().map(|t| t as f64 / tick);
    // proc(5): utime 14, stime 15, cutime 16, cstime 17 (here minus 3).
    Some(Cpu {
        own: at(11)? + at(12)?,
        ended_children: at(13)? + at(14)?,
    })
}

/// The CPU time of process `pid`, while it exists.
pub fn process_cpu(pid: u32) -> Option<Cpu> {
    cpu_of(&stat_fields(&format!("/proc/{pid}/stat"))?)
}

/// CPU seconds of this process's live threads, summed by thread name without its number
/// (tokio's workers, sqlx's one thread per SQLite connection, the benchmark's driver).
pub fn thread_cpu() -> BTreeMap<String, f64> {
    let mut by_name = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return by_name;
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let name = name
            .trim()
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '-')
            .to_owned();
        let cpu = stat_fields(&dir.join("stat").display().to_string())
            .and_then(|f| cpu_of(&f))
            .map_or(0.0, |c| c.own);
        *by_name.entry(name).or_insert(0.0) += cpu;
    }
    by_name
}

/// Bytes process `pid` caused to be written to storage (`write_bytes` of `/proc/<pid>/io`).
pub fn write_bytes(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
}

/// PostgreSQL's CPU seconds: per database its live backends' (keyed by the database's
/// name), `"server"` for its own processes (checkpointer, WAL writer...) and for ended
/// children (backends that disconnected, mostly), all from the postmaster `pid` down.
pub fn postgres_cpu(postmaster: u32) -> BTreeMap<String, f64> {
    let mut by_db = BTreeMap::new();
    if let Some(cpu) = process_cpu(postmaster) {
        by_db.insert("server".to_owned(), cpu.own + cpu.ended_children);
    }
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return by_db;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Some(fields) = stat_fields(&format!("/proc/{pid}/stat")) else {
            continue;
        };
        // proc(5) field 4, the parent.
        if fields.get(1).copied() != Some(u64::from(postmaster)) {
            continue;
        }
        let Some(cpu) = cpu_of(&fields) else {
            continue;
        };
        let title = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        *by_db.entry(backend_database(&title)).or_insert(0.0) += cpu.own;
    }
    by_db
}

/// The database a PostgreSQL child process serves, from its process title
/// (`postgres: USER DATABASE HOST(PORT) STATE`), or `"server"` for the server's own.
fn backend_database(title: &str) -> String {
    let words: Vec<&str> = title
        .trim_end_matches('\0')
        .trim_start_matches("postgres:")
        .split_whitespace()
        .collect();
    match words.as_slice() {
        [_user, db, host, ..] if host.contains('(') => (*db).to_owned(),
        _ => "server".to_owned(),
    }
}

/// Prepares a PostgreSQL server started with `pg_stat_statements` preloaded: the extension
/// exists (its view is read from `url`'s database).
pub async fn prepare_postgres(url: &str) -> anyhow::Result<()> {
    let db = storage::Db::connect(url, &storage::DbOptions::default()).await?;
    storage::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(db.pool())
        .await?;
    db.close().await;
    Ok(())
}

/// What PostgreSQL counted, per database and for the server.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PostgresCounts {
    /// Per database: committed transactions, rolled back ones, rows written (inserted,
    /// updated, deleted), statements run by the services and by the benchmark.
    pub databases: BTreeMap<String, DatabaseCounts>,
    /// WAL bytes written, and the WAL writes and syncs (fsyncs) made.
    pub wal_bytes: u64,
    pub wal_writes: u64,
    pub wal_syncs: u64,
}

/// One database's counts (see [`PostgresCounts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DatabaseCounts {
    pub commits: u64,
    pub rollbacks: u64,
    pub rows_written: u64,
    pub statements: u64,
    pub observer_statements: u64,
}

/// Reads PostgreSQL's counters through `db` (any database of the server). Transaction
/// counts reach `pg_stat_database` when a backend reports them: at least a second after its
/// last report while busy, up to ten seconds once idle, and when it disconnects.
pub async fn postgres_counts(db: &storage::Db) -> anyhow::Result<PostgresCounts> {
    use storage::Row;
    let pool = db.pool();
    let mut counts = PostgresCounts::default();
    let sql = format!(
        "{OBSERVER} SELECT CAST(datname AS TEXT) AS datname, xact_commit, xact_rollback, \
         tup_inserted + tup_updated + tup_deleted AS written \
         FROM pg_stat_database WHERE datname IS NOT NULL"
    );
    for r in storage::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?
    {
        let get = |c: &str| u64::try_from(r.get::<i64, _>(c)).unwrap_or(0);
        counts.databases.insert(
            r.get("datname"),
            DatabaseCounts {
                commits: get("xact_commit"),
                rollbacks: get("xact_rollback"),
                rows_written: get("written"),
                ..Default::default()
            },
        );
    }
    let sql = format!(
        "{OBSERVER} SELECT CAST(d.datname AS TEXT) AS datname, \
         CAST(SUM(CASE WHEN s.query LIKE '%/* mcf-bench */%' THEN 0 ELSE s.calls END) AS BIGINT) \
           AS services, \
         CAST(SUM(CASE WHEN s.query LIKE '%/* mcf-bench */%' THEN s.calls ELSE 0 END) AS BIGINT) \
           AS observer \
         FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid GROUP BY d.datname"
    );
    for r in storage::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?
    {
        let entry = counts.databases.entry(r.get("datname")).or_default();
        entry.statements = u64::try_from(r.get::<i64, _>("services")).unwrap_or(0);
        entry.observer_statements = u64::try_from(r.get::<i64, _>("observer")).unwrap_or(0);
    }
    let sql = format!(
        "{OBSERVER} SELECT CAST(wal_bytes AS BIGINT) AS bytes, wal_write, wal_sync FROM pg_stat_wal"
    );
    let r = storage::query(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await?;
    counts.wal_bytes = u64::try_from(r.get::<i64, _>("bytes")).unwrap_or(0);
    counts.wal_writes = u64::try_from(r.get::<i64, _>("wal_write")).unwrap_or(0);
    counts.wal_syncs = u64::try_from(r.get::<i64, _>("wal_sync")).unwrap_or(0);
    Ok(counts)
}

/// Events written to a service database's outbox and applied by its consumers (inbox rows),
/// both counted since the database was created.
pub async fn event_counts(db: &storage::Db) -> anyhow::Result<(u64, u64)> {
    let count = |table: &str| {
        let sql = format!("{OBSERVER} SELECT COUNT(*) FROM {table}");
        let pool = db.pool().clone();
        async move {
            let n: i64 = storage::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&pool)
                .await?;
            anyhow::Ok(u64::try_from(n).unwrap_or(0))
        }
    };
    Ok((count("outbox").await?, count("inbox").await?))
}

/// Events of a service database not yet handed to the bus (its outbox's pending rows).
pub async fn outbox_pending(db: &storage::Db) -> anyhow::Result<u64> {
    let sql = format!("{OBSERVER} SELECT COUNT(*) FROM outbox WHERE published_at IS NULL");
    let n: i64 = storage::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(db.pool())
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_title_names_its_database_and_the_others_are_the_server() {
        assert_eq!(
            backend_database("postgres: postgres bench_ordering 127.0.0.1(40562) idle\0\0"),
            "bench_ordering"
        );
        assert_eq!(
            backend_database("postgres: postgres bench_mail 127.0.0.1(1) INSERT"),
            "bench_mail"
        );
        assert_eq!(backend_database("postgres: checkpointer "), "server");
        assert_eq!(backend_database("postgres: autovacuum launcher "), "server");
        assert_eq!(backend_database(""), "server");
    }

    #[test]
    fn this_process_has_cpu_time_and_named_threads() {
        // Burn a little CPU so the figure cannot be zero by chance.
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let cpu = process_cpu(std::process::id()).expect("/proc/<pid>/stat is readable");
        assert!(cpu.own > 0.0, "{cpu:?}");
        let threads = thread_cpu();
        assert!(!threads.is_empty());
        assert!(
            threads.values().sum::<f64>() <= cpu.own + 0.02,
            "{threads:?} {cpu:?}"
        );
    }

    #[test]
    fn statements_are_counted_by_summary_leaving_the_observers_out() {
        use tracing_subscriber::layer::SubscriberExt;
        let counter = StatementCounter::default();
        let subscriber = tracing_subscriber::registry().with(counter.clone());
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..3 {
                tracing::debug!(target: "sqlx::query", summary = "SELECT * FROM outbox …",
                    elapsed_secs = 0.5);
            }
            tracing::debug!(target: "sqlx::query",
                summary = "/* mcf-bench */ SELECT COUNT(*) FROM …", elapsed_secs = 1.0);
            tracing::debug!(target: "other", summary = "SELECT 1", elapsed_secs = 1.0);
        });
        let counted = counter.snapshot();
        assert_eq!(counted.len(), 1, "{counted:?}");
        assert_eq!(
            counted["SELECT * FROM outbox"],
            StatementFigures {
                count: 3,
                seconds: 1.5
            }
        );
    }
}
