use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};

use crate::DbError;
use crate::group::{Group, Member};

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a connection talks to (for the few statements that differ).
    pub fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name() == "PostgreSQL" {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Maximum open connections.
    pub max_connections: u32,
    /// How long a SQLite connection waits for a lock held by another process.
    pub busy_timeout: Duration,
    /// SQLite: every commit is durable when it returns (`synchronous = FULL`: an fsync of
    /// the WAL per commit). Off (`synchronous = NORMAL`), a commit survives the process
    /// dying but not the machine losing power until [`Db::sync_wal`] has run after it; a
    /// database whose writes can be repeated from elsewhere (the embedded bus's log, fed from
    /// the outboxes) uses it to keep the fsync off its writers' path. No effect on PostgreSQL.
    pub durable_commits: bool,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
            durable_commits: true,
        }
    }
}

/// A set of migrations for both backends: those they share plus each backend's own, in
/// version order. Built by [`migrations!`](crate::migrations) from a crate's `migrations/`
/// folder (shared files) and its `sqlite/` and `postgres/` subfolders (files that differ).
///
/// Several sets may share a database (the messaging tables and the service's own): each
/// ignores versions it does not know, so their version ranges must not overlap.
pub struct Migrations {
    sqlite: Migrator,
    postgres: Migrator,
}

impl Migrations {
    /// Migrations that are one SQL text for both backends.
    pub fn shared(shared: Migrator) -> Self {
        Migrations::new(
            shared,
            Migrator::with_migrations(vec![]),
            Migrator::with_migrations(vec![]),
        )
    }

    /// The shared migrations merged with each backend's own, by version (the files move
    /// between folders unchanged, so the checksums of applied migrations stay the same).
    pub fn new(shared: Migrator, sqlite: Migrator, postgres: Migrator) -> Self {
        let merged = |own: Migrator| {
            let all = shared.migrations.iter().chain(own.migrations.iter());
            let mut migrator = Migrator::with_migrations(all.cloned().collect());
            migrator.set_ignore_missing(true);
            migrator
        };
        Migrations {
            sqlite: merged(sqlite),
            postgres: merged(postgres),
        }
    }

    fn for_backend(&self, backend: Backend) -> &Migrator {
        match backend {
            Backend::Sqlite => &self.sqlite,
            Backend::Postgres => &self.postgres,
        }
    }
}

/// A service's database: a connection pool plus the backend it talks to.
///
/// Cheap to clone. On SQLite, write transactions take turns in-process (first come, first
/// served) inside a group transaction begun with `BEGIN IMMEDIATE`, so a read-then-write
/// transaction never fails to upgrade its lock, writers queue without the busy handler's
/// sleep-and-retry, and a burst of writers shares one commit (module `group`).
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite: the group its write transactions share commits in.
    group: Option<Arc<Group>>,
    /// SQLite without durable commits: the WAL that [`Db::sync_wal`] makes durable.
    wal: Option<Arc<WalSync>>,
}

/// Syncs of a SQLite WAL, shared: a caller whose commit an fsync started after already
/// covers returns without one of its own.
struct WalSync {
    path: std::path::PathBuf,
    /// Sync requests made so far (each after its caller's commit returned).
    requested: std::sync::atomic::AtomicU64,
    /// One fsync at a time; holds the highest request the last completed fsync covered.
    covered: tokio::sync::Mutex<u64>,
    /// fsyncs made (how well requests shared them).
    fsyncs: std::sync::atomic::AtomicU64,
}

impl WalSync {
    async fn sync(&self) -> Result<(), DbError> {
        use std::sync::atomic::Ordering::SeqCst;
        let ticket = self.requested.fetch_add(1, SeqCst) + 1;
        let mut covered = self.covered.lock().await;
        if *covered >= ticket {
            return Ok(());
        }
        // Every request made by now came after its commit returned, so an fsync starting
        // now covers them all.
        let covers = self.requested.load(SeqCst);
        let path = self.path.clone();
        let io = |source| DbError::Io {
            path: self.path.display().to_string(),
            source,
        };
        tokio::task::spawn_blocking(move || match std::fs::File::open(&path) {
            // fsync flushes the file's data whoever wrote it (SQLite's own connections).
            Ok(file) => file.sync_data(),
            // No WAL: the last connection checkpointed it into the database (syncing the
            // database) and removed it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        })
        .await
        .map_err(|e| io(std::io::Error::other(e)))?
        .map_err(io)?;
        *covered = covers;
        self.fsyncs.fetch_add(1, SeqCst);
        Ok(())
    }
}

/// A pause of a SQLite database's writers, from [`Db::pause_writes`]; they go on when it is
/// dropped.
pub struct WritePause {
    _turn: tokio::sync::OwnedSemaphorePermit,
}

/// A write transaction. Dereferences to the connection, so `&mut *tx` is an executor.
///
/// On SQLite it is one writer's turn in a group transaction (module `group`): its changes
/// are atomic (a savepoint) and [`Tx::commit`] returns once the group's commit made them
/// durable; on PostgreSQL it is a transaction of its own.
pub struct Tx {
    inner: Inner,
}

enum Inner {
    Own(Transaction<'static, Any>),
    Member(Member),
}

impl Tx {
    /// Commits; nothing is visible to others before this returns `Ok`.
    pub async fn commit(self) -> Result<(), DbError> {
        match self.inner {
            Inner::Own(tx) => Ok(tx.commit().await?),
            Inner::Member(m) => m.commit().await,
        }
    }

    /// Rolls back explicitly (dropping a `Tx` also rolls back).
    pub async fn rollback(self) -> Result<(), DbError> {
        match self.inner {
            Inner::Own(tx) => Ok(tx.rollback().await?),
            Inner::Member(m) => m.rollback().await,
        }
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match &self.inner {
            Inner::Own(tx) => tx,
            Inner::Member(m) => m.conn(),
        }
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.inner {
            Inner::Own(tx) => tx,
            Inner::Member(m) => m.conn_mut(),
        }
    }
}

impl Db {
    /// Opens (and creates, if missing) the database at `url`: `sqlite://PATH` or
    /// `postgres://...`. SQLite gets WAL, `synchronous=FULL`, foreign keys and a busy
    /// timeout on every connection.
    pub async fn connect(url: &str, options: &DbOptions) -> Result<Db, DbError> {
        install_default_drivers();
        let backend = backend_of(url)?;
        if backend == Backend::Sqlite {
            create_parent_dir(url)?;
        }
        if !Any::database_exists(url).await? {
            // Two processes may race to create the same database: the loser sees it exist.
            if let Err(e) = Any::create_database(url).await
                && !Any::database_exists(url).await?
            {
                return Err(e.into());
            }
        }
        let busy_ms = options.busy_timeout.as_millis();
        let synchronous = if options.durable_commits {
            "FULL"
        } else {
            "NORMAL"
        };
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_secs(30))
            // A SQLite connection is a thread of this process: pinging it before every use
            // (sqlx's default) cost two thread hand-offs per acquire and found nothing. A
            // PostgreSQL connection may have been cut by a server restart: keep the check.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(sqlx::AssertSqlSafe(format!(
                            "PRAGMA busy_timeout = {busy_ms}; PRAGMA journal_mode = WAL; \
                             PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;"
                        )))
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        let group = (backend == Backend::Sqlite).then(Group::start);
        let wal = (backend == Backend::Sqlite && !options.durable_commits).then(|| {
            Arc::new(WalSync {
                path: format!("{}-wal", sqlite_path(url)).into(),
                requested: Default::default(),
                covered: Default::default(),
                fsyncs: Default::default(),
            })
        });
        Ok(Db {
            pool,
            backend,
            group,
            wal,
        })
    }

    /// Applies each set's pending migrations for this backend, in order.
    pub async fn migrate(&self, sets: &[Migrations]) -> Result<(), DbError> {
        for set in sets {
            set.for_backend(self.backend).run(&self.pool).await?;
        }
        Ok(())
    }

    /// Starts a write transaction (on SQLite, the next turn of its group: see [`Tx`]).
    pub async fn begin(&self) -> Result<Tx, DbError> {
        let inner = match &self.group {
            Some(group) => Inner::Member(group.begin(&self.pool).await?),
            None => Inner::Own(self.pool.begin().await?),
        };
        Ok(Tx { inner })
    }

    /// Makes every commit that returned before this call durable: a no-op where commits are
    /// durable already (PostgreSQL, SQLite by default); one fsync of the WAL, shared by
    /// concurrent callers, on SQLite opened without [`DbOptions::durable_commits`].
    pub async fn sync_wal(&self) -> Result<(), DbError> {
        match &self.wal {
            Some(wal) => wal.sync().await,
            None => Ok(()),
        }
    }

    /// On SQLite, (write transactions committed, `COMMIT`s made) since the database was
    /// opened: how many writers a commit (an fsync) served on average. `None` on PostgreSQL.
    pub fn write_stats(&self) -> Option<(u64, u64)> {
        self.group.as_ref().map(|g| g.stats())
    }

    /// SQLite: how many wait for a turn of its group now (0 on PostgreSQL).
    #[cfg(test)]
    pub(crate) fn queued_writers(&self) -> usize {
        self.group.as_ref().map_or(0, |g| g.queued_writers())
    }

    /// SQLite: pauses this database's writers and returns the pause. It waits for the
    /// writers' turn (behind those already queued), commits what they left open for the
    /// group, then keeps the turn: while the pause lives, no write transaction of this `Db`
    /// begins or commits, so the file holds exactly the writes acknowledged so far. Writers
    /// queue meanwhile (they are not refused) and go on when it is dropped. Backups pause
    /// every database of a process at once to pin their copies ([`Db::prepare_copy`]) at
    /// one moment.
    ///
    /// `None` on PostgreSQL: its transactions do not take turns.
    pub async fn pause_writes(&self) -> Result<Option<WritePause>, DbError> {
        match &self.group {
            Some(group) => Ok(Some(WritePause {
                _turn: group.pause().await?,
            })),
            None => Ok(None),
        }
    }

    /// The pool, for reads outside a transaction.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (waits for those in use).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn backend_of(url: &str) -> Result<Backend, DbError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        Err(DbError::UnsupportedUrl(url.to_owned()))
    }
}

/// The file path of a SQLite URL.
fn sqlite_path(url: &str) -> &str {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    path.split('?').next().unwrap_or(path)
}

fn create_parent_dir(url: &str) -> Result<(), DbError> {
    let path = sqlite_path(url);
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|source| DbError::Io {
            path: dir.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// The URL of a SQLite database file, created on first use.
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use sqlx::SqlSafeStr;
    use sqlx::migrate::{Migration, MigrationType};

    use super::*;

    fn migrator(versions: &[i64]) -> Migrator {
        let migration = |v: i64| {
            let sql = format!("SELECT {v};");
            Migration::new(
                v,
                "m".into(),
                MigrationType::Simple,
                sqlx::AssertSqlSafe(sql).into_sql_str(),
                false,
            )
        };
        Migrator::with_migrations(versions.iter().copied().map(migration).collect())
    }

    fn versions(migrator: &Migrator) -> Vec<i64> {
        migrator.iter().map(|m| m.version).collect()
    }

    #[test]
    fn each_backend_runs_the_shared_migrations_and_its_own_in_version_order() {
        // Given shared versions 1 and 3, and version 2 written once per backend
        let set = Migrations::new(migrator(&[3, 1]), migrator(&[2]), migrator(&[2]));
        // When a backend's list is taken / Then it is 1, 2, 3, ignoring versions it does not know
        for backend in [Backend::Sqlite, Backend::Postgres] {
            assert_eq!(versions(set.for_backend(backend)), [1, 2, 3]);
            assert!(set.for_backend(backend).ignore_missing);
        }
    }

    #[test]
    fn shared_migrations_alone_serve_both_backends() {
        // Given only shared migrations
        let set = Migrations::shared(migrator(&[1, 2]));
        // When each backend's list is taken / Then it is the shared list
        assert_eq!(versions(set.for_backend(Backend::Sqlite)), [1, 2]);
        assert_eq!(versions(set.for_backend(Backend::Postgres)), [1, 2]);
    }

    #[test]
    fn merging_keeps_each_file_and_its_checksum() {
        // Given a shared migration and a backend's own
        let (shared, own) = (migrator(&[1]), migrator(&[2]));
        let checksums: Vec<_> = shared
            .iter()
            .chain(own.iter())
            .map(|m| m.checksum.clone())
            .collect();
        // When they are merged
        let set = Migrations::new(shared, own, migrator(&[2]));
        // Then the backend runs them with the checksums they had
        let merged: Vec<_> = set
            .for_backend(Backend::Sqlite)
            .iter()
            .map(|m| m.checksum.clone())
            .collect();
        assert_eq!(merged, checksums);
    }

    async fn synchronous(db: &Db) -> i64 {
        sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(db.pool())
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_database_without_durable_commits_syncs_its_wal_when_asked() {
        // Given a SQLite database opened without durable commits, and one with (the default)
        let dir = tempfile::tempdir().unwrap();
        let url = |name: &str| sqlite_url(&dir.path().join(name));
        let options = DbOptions {
            durable_commits: false,
            ..DbOptions::default()
        };
        let lazy = Db::connect(&url("lazy.sqlite"), &options).await.unwrap();
        let strict = Db::connect(&url("strict.sqlite"), &DbOptions::default())
            .await
            .unwrap();
        // Then the first commits without an fsync (NORMAL = 1), the second with one (FULL = 2)
        assert_eq!(synchronous(&lazy).await, 1);
        assert_eq!(synchronous(&strict).await, 2);
        // When a writer commits and many callers ask for a sync at once
        let mut tx = lazy.begin().await.unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // (an fsync under way meanwhile: held here until all 32 have asked, since spawned
        // tasks may otherwise run one after the other and never overlap)
        let wal = lazy.wal.clone().unwrap();
        let under_way = wal.covered.lock().await;
        let syncs: Vec<_> = (0..32)
            .map(|_| {
                let db = lazy.clone();
                tokio::spawn(async move { db.sync_wal().await })
            })
            .collect();
        testing::eventually(Duration::from_secs(10), "32 requests", || {
            wal.requested.load(Ordering::SeqCst) >= 32
        })
        .await;
        drop(under_way);
        for s in syncs {
            s.await.unwrap().unwrap();
        }
        // Then each got a sync, all from the one fsync that started after they asked
        let fsyncs = wal.fsyncs.load(Ordering::SeqCst);
        assert_eq!(fsyncs, 1, "{fsyncs} fsyncs for 32 requests");
        // And a durable database has nothing to sync
        strict.sync_wal().await.unwrap();
        assert!(strict.wal.is_none());
        // And a WAL the last connection removed (checkpointed into the file) counts as synced
        lazy.close().await;
        assert!(!dir.path().join("lazy.sqlite-wal").exists());
        lazy.sync_wal().await.unwrap();
    }
}
