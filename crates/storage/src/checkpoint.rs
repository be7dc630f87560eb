//! Checkpoints of a SQLite WAL, off the writers' path.
//!
//! Left to itself, SQLite copies the WAL back into the database inside the `COMMIT` that
//! took the WAL past 1,000 pages: that commit returns only after the copy and two fsyncs
//! (the WAL's, then the database file's), tens of milliseconds on a slow disk. Writers of a
//! [`Db`](crate::Db) take turns, so every writer queued behind it waits as long: the rare
//! 100 ms request of an otherwise idle system. Here no connection checkpoints on commit
//! (`PRAGMA wal_autocheckpoint = 0`, set on each connection by `Db::connect`); a task per
//! database runs a `PASSIVE` checkpoint every [`INTERVAL`] when something was committed since
//! its last one. A passive checkpoint takes no writer lock: writers go on appending to the
//! WAL while it copies, and the first writer after a complete checkpoint starts the WAL over
//! from its beginning, so the file does not grow. What it cannot copy yet (a reader still
//! needs the old pages) is copied by a later one. When the last connection closes, SQLite
//! checkpoints and removes the WAL as it always does.
//!
//! Durability does not change: a commit is durable by its own WAL fsync (or by
//! [`Db::sync_wal`](crate::Db::sync_wal)); the checkpoint only moves committed pages.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::AnyPool;

use crate::group::Group;

/// How often a database with new commits is checkpointed. A second of writes is a WAL of a
/// few MiB at the most this system writes (a thousand orders a second would be more).
pub(crate) const INTERVAL: Duration = Duration::from_secs(1);

/// The checkpointing of one SQLite database. Held by its `Db` handles; the task ends once
/// the last of them is gone (or the pool is closed).
pub(crate) struct Checkpointer {
    pool: AnyPool,
    /// Its commit count tells whether anything was written since the last checkpoint.
    group: Arc<Group>,
    /// Checkpoints run so far.
    made: AtomicU64,
}

impl Checkpointer {
    /// Starts checkpointing the database behind `pool`, whose writers commit through `group`.
    pub(crate) fn start(pool: AnyPool, group: Arc<Group>) -> Arc<Checkpointer> {
        let checkpointer = Arc::new(Checkpointer {
            pool,
            group,
            made: AtomicU64::new(0),
        });
        tokio::spawn(run(Arc::downgrade(&checkpointer)));
        checkpointer
    }

    /// Checkpoints run so far.
    pub(crate) fn made(&self) -> u64 {
        self.made.load(Ordering::SeqCst)
    }
}

async fn run(checkpointer: Weak<Checkpointer>) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + INTERVAL, INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Commits counted at the last checkpoint; `None`: none yet (the migrations and anything
    // written through the pool directly are not counted: the first tick copies them).
    let mut covered = None;
    loop {
        tick.tick().await;
        let Some(c) = checkpointer.upgrade() else {
            return;
        };
        if c.pool.is_closed() {
            return;
        }
        let (_, commits) = c.group.stats();
        if covered == Some(commits) {
            continue;
        }
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&c.pool)
            .await
        {
            Ok(_) => {
                covered = Some(commits);
                c.made.fetch_add(1, Ordering::SeqCst);
            }
            // Closed meanwhile (shutdown), or a passing failure: the next tick tries again;
            // meanwhile the WAL only grows.
            Err(_) if c.pool.is_closed() => return,
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed, tried again shortly"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Db, DbOptions, sqlite_url};

    /// Given commits to a database, when the checkpointer's interval has passed, then they
    /// are in the database file itself (a copy of it without its WAL holds them), and no
    /// connection would have checkpointed on commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commits_reach_the_database_file_through_the_checkpointer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        let db = Db::connect(&sqlite_url(&path), &DbOptions::default())
            .await
            .unwrap();
        let mut tx = db.begin().await.unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .execute(&mut *tx)
            .await
            .unwrap();
        for id in 0..100_i64 {
            sqlx::query("INSERT INTO t (id, v) VALUES ($1, 'x')")
                .bind(id)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        // Every connection of the pool leaves checkpoints to the task.
        let mut held = Vec::new();
        for _ in 0..3 {
            let mut conn = db.pool().acquire().await.unwrap();
            let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(pages, 0);
            held.push(conn);
        }
        drop(held);
        let checkpointer = db.checkpointer.clone().expect("SQLite is checkpointed");
        // The database file alone (a copy of it, without the WAL) comes to hold the rows. A
        // checkpoint that began before the commit may end after it: the next one copies them.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut copies = 0;
        while file_alone_rows(&path, copies).await != Some(100) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the rows never reached the database file ({} checkpoints)",
                checkpointer.made()
            );
            copies += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(checkpointer.made() > 0);
        // Nothing new committed: after at most one more (the one that counted the commit may
        // have begun just before it was counted), the ticks leave the database alone.
        tokio::time::sleep(INTERVAL * 2 + Duration::from_millis(200)).await;
        let made = checkpointer.made();
        tokio::time::sleep(INTERVAL * 2 + Duration::from_millis(200)).await;
        assert_eq!(checkpointer.made(), made);
    }

    /// The rows of `t` in a copy of the database file at `path` without its WAL; `None`
    /// while the table is not there.
    async fn file_alone_rows(path: &std::path::Path, n: u32) -> Option<i64> {
        let copy = path.with_file_name(format!("copy-{n}.sqlite"));
        std::fs::copy(path, &copy).unwrap();
        let alone = Db::connect(&sqlite_url(&copy), &DbOptions::default())
            .await
            .unwrap();
        let rows = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(alone.pool())
            .await
            .ok();
        alone.close().await;
        rows
    }
}
