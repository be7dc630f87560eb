//! Group commit for SQLite: write transactions of one database that queue up behind each
//! other share one `COMMIT`, so one fsync makes a whole burst durable.
//!
//! SQLite has one writer per file, and with `synchronous = FULL` every commit is an fsync:
//! under load, writers spend their time waiting for each other's fsync. Here the writers
//! still run one at a time (the writer semaphore, first come first served), but a writer
//! that finishes while others are queued leaves the transaction open for them (each runs
//! inside a savepoint of it), and the last of the burst commits for all. A writer's
//! `commit()` returns only after that real `COMMIT`, so nothing is reported durable before
//! it is, and each writer's changes stay atomic (its savepoint is released or rolled back as
//! a whole). A writer alone (nobody queued) costs what a plain transaction costs: it begins,
//! and commits itself, with no savepoint.
//!
//! A **committer** task is the safety net: whenever a writer leaves the transaction open, it
//! queues for a turn and commits whatever is still open, so a writer that was queued and
//! then went away (a cancelled request) never leaves the others waiting.
//!
//! What changes for a writer: it may see the uncommitted changes of the writers before it in
//! the same group (it would have seen them committed a moment later anyway), and if the
//! group's `COMMIT` fails, every writer of the group gets the error (none of them is kept).
//! A writer must not hold its transaction across slow I/O (it never should): the group waits
//! for it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use sqlx::{Any, AnyConnection, AnyPool, Transaction};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};

use crate::{DbError, Savepoint};

/// The group state of one SQLite database.
pub(crate) struct Group {
    /// One writer (or the committer) at a time; fair, so the committer's turn comes after
    /// every writer queued before it.
    writer: Arc<Semaphore>,
    /// Writers waiting for a turn: a finishing writer leaves the transaction open for them
    /// instead of committing.
    queued: AtomicUsize,
    slot: Mutex<Slot>,
    /// A writer left the transaction open: the committer should commit after those queued.
    left_open: Arc<Notify>,
    /// Writers committed and `COMMIT`s made, since start (how well commits are shared).
    committed_writers: AtomicU64,
    commits: AtomicU64,
}

/// What is between two writers' turns.
#[derive(Default)]
struct Slot {
    /// The group's open transaction, when one is open.
    tx: Option<Transaction<'static, Any>>,
    /// The last writer was dropped without commit or rollback: its savepoint must be rolled
    /// back before anyone goes on.
    abandoned: bool,
    /// The writers of the open transaction waiting for its `COMMIT`.
    waiting: Vec<oneshot::Sender<Result<(), String>>>,
}

/// Each writer's changes inside the shared transaction.
const MEMBER: Savepoint = Savepoint::named("group_member");

/// Counts a writer as queued until it has its turn (or gives up waiting).
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Group {
    /// A group for one database, with its committer task.
    pub(crate) fn start() -> Arc<Group> {
        let group = Arc::new(Group {
            writer: Arc::new(Semaphore::new(1)),
            queued: AtomicUsize::new(0),
            slot: Mutex::new(Slot::default()),
            left_open: Arc::new(Notify::new()),
            committed_writers: AtomicU64::new(0),
            commits: AtomicU64::new(0),
        });
        tokio::spawn(commit_loop(Arc::downgrade(&group), group.left_open.clone()));
        group
    }

    /// (writers committed, `COMMIT`s made) since start.
    pub(crate) fn stats(&self) -> (u64, u64) {
        (
            self.committed_writers.load(Ordering::Relaxed),
            self.commits.load(Ordering::Relaxed),
        )
    }

    /// Those waiting for a turn now: writers, pauses, the committer.
    #[cfg(test)]
    pub(crate) fn queued_writers(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn turn(&self) -> OwnedSemaphorePermit {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let _queued = Queued(&self.queued);
        self.writer
            .clone()
            .acquire_owned()
            .await
            .expect("the writer semaphore is never closed")
    }

    /// Waits for the writer's turn and starts a member: of the group's open transaction
    /// (under a savepoint), or of a new one (`BEGIN IMMEDIATE`) it has to itself so far.
    ///
    /// Once the turn is taken, the rest runs as a task of its own: the open transaction is
    /// out of the slot meanwhile, and a caller that gives up (a dropped future) must not drop
    /// it with the group's work in it. A member nobody takes is dropped like any other.
    pub(crate) async fn begin(self: &Arc<Self>, pool: &AnyPool) -> Result<Member, DbError> {
        let permit = self.turn().await;
        let (group, pool) = (self.clone(), pool.clone());
        uncancellable(async move { group.join(pool, permit).await }).await
    }

    async fn join(
        self: Arc<Self>,
        pool: AnyPool,
        permit: OwnedSemaphorePermit,
    ) -> Result<Member, DbError> {
        let (open, abandoned) = {
            let mut slot = self.slot();
            (slot.tx.take(), std::mem::take(&mut slot.abandoned))
        };
        let (tx, joined) = match open {
            Some(mut tx) => {
                if abandoned && let Err(e) = MEMBER.undo(&mut tx).await {
                    // The group is beyond repair: it ends, and its writers hear why.
                    self.fail_waiting(&e);
                    return Err(e);
                }
                if let Err(e) = MEMBER.open(&mut tx).await {
                    self.leave_open(tx, false);
                    return Err(e);
                }
                (tx, true)
            }
            None => (pool.begin_with("BEGIN IMMEDIATE").await?, false),
        };
        Ok(Member {
            group: self,
            tx: Some(tx),
            joined,
            _permit: permit,
        })
    }

    /// Waits for the writers' turn, commits whatever the writers before left open for the
    /// group, and returns the turn: until it is dropped no writer of this database begins or
    /// commits, and the file holds exactly what was committed so far (see
    /// [`crate::Db::pause_writes`]).
    pub(crate) async fn pause(self: &Arc<Self>) -> Result<OwnedSemaphorePermit, DbError> {
        let permit = self.turn().await;
        let group = self.clone();
        // Once the open transaction is out of the slot, its commit must happen (or fail and
        // be told to its writers) even if the caller gives up.
        uncancellable(async move {
            let (open, abandoned) = {
                let mut slot = group.slot();
                (slot.tx.take(), std::mem::take(&mut slot.abandoned))
            };
            if let Some(tx) = open {
                group.commit(tx, abandoned, 0).await?;
            }
            Ok(permit)
        })
        .await
    }

    /// Puts the open transaction back for the next writer and tells the committer.
    fn leave_open(&self, tx: Transaction<'static, Any>, abandoned: bool) {
        {
            let mut slot = self.slot();
            slot.tx = Some(tx);
            slot.abandoned = abandoned;
        }
        self.left_open.notify_one();
    }

    fn fail_waiting(&self, e: &DbError) {
        let waiting = std::mem::take(&mut self.slot().waiting);
        for w in waiting {
            let _ = w.send(Err(e.to_string()));
        }
    }

    /// Commits the group's transaction (the caller has the turn) and tells the writers
    /// waiting for it; returns the outcome.
    async fn commit(
        &self,
        mut tx: Transaction<'static, Any>,
        abandoned: bool,
        writers: u64,
    ) -> Result<(), DbError> {
        let waiting = std::mem::take(&mut self.slot().waiting);
        let result = async {
            if abandoned {
                MEMBER.undo(&mut tx).await?;
            }
            tx.commit().await.map_err(DbError::from)
        }
        .await;
        let writers = writers + waiting.len() as u64;
        match &result {
            Ok(()) => {
                self.commits.fetch_add(1, Ordering::Relaxed);
                self.committed_writers.fetch_add(writers, Ordering::Relaxed);
            }
            Err(e) => tracing::error!(error = %e, writers, "a group commit failed"),
        }
        for w in waiting {
            let _ = w.send(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        }
        result
    }
}

/// Commits what a writer left open, once every writer queued by then has had its turn.
/// Ends when the database is gone.
async fn commit_loop(group: Weak<Group>, left_open: Arc<Notify>) {
    loop {
        left_open.notified().await;
        let Some(group) = group.upgrade() else {
            return;
        };
        // A notice left over from a group already committed (the last writer commits
        // itself): nothing to do, and queueing for a turn would make a lone writer hand its
        // commit over instead of committing itself.
        if group.slot().tx.is_none() {
            continue;
        }
        let _turn = group.turn().await;
        let (open, abandoned) = {
            let mut slot = group.slot();
            (slot.tx.take(), std::mem::take(&mut slot.abandoned))
        };
        if let Some(tx) = open {
            // Its outcome goes to the waiting writers.
            let _ = group.commit(tx, abandoned, 0).await;
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // Lets the committer see the group is gone and end.
        self.left_open.notify_one();
    }
}

/// One writer's part of a group transaction (inside [`crate::Tx`]).
pub(crate) struct Member {
    group: Arc<Group>,
    /// Always `Some` until the member ends (commit, rollback or drop).
    tx: Option<Transaction<'static, Any>>,
    /// Joined an open transaction (under a savepoint); `false`: began it, alone in it so far.
    joined: bool,
    _permit: OwnedSemaphorePermit,
}

impl Member {
    pub(crate) fn conn(&self) -> &AnyConnection {
        self.tx
            .as_deref()
            .expect("a member holds its transaction until it ends")
    }

    pub(crate) fn conn_mut(&mut self) -> &mut AnyConnection {
        self.tx
            .as_deref_mut()
            .expect("a member holds its transaction until it ends")
    }

    /// Keeps the member's changes and returns once a `COMMIT` made them durable: its own,
    /// when nobody is queued behind it, else the one that ends the group.
    ///
    /// Up to the hand-over (or its own `COMMIT`) it runs as a task of its own, so a caller
    /// that gives up mid-way cannot drop the group's transaction nor lose the others' answer;
    /// only the wait for the group's `COMMIT` belongs to the caller.
    pub(crate) async fn commit(self) -> Result<(), DbError> {
        let handed = uncancellable(self.finish()).await?;
        match handed {
            None => Ok(()),
            Some(committed) => match committed.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(DbError::GroupCommit(e)),
                Err(_) => Err(DbError::GroupCommit(
                    "the database closed before the commit".into(),
                )),
            },
        }
    }

    /// Releases the member's savepoint, then commits the group (`None`: done) or leaves it
    /// open for those queued (`Some`: where the outcome will be told).
    async fn finish(mut self) -> Result<Option<oneshot::Receiver<Result<(), String>>>, DbError> {
        let mut tx = self.tx.take().expect("a member holds its transaction");
        if self.joined
            && let Err(e) = MEMBER.release(&mut tx).await
        {
            self.group.leave_open(tx, true);
            return Err(e);
        }
        if self.group.queued.load(Ordering::SeqCst) == 0 {
            // The last of the burst: commit for everyone, still holding the turn.
            return self.group.commit(tx, false, 1).await.map(|()| None);
        }
        let (done, committed) = oneshot::channel();
        self.group.slot().waiting.push(done);
        self.group.leave_open(tx, false);
        // The turn ends here (the permit drops with `self`).
        Ok(Some(committed))
    }

    /// Undoes the member's changes; the group goes on.
    pub(crate) async fn rollback(self) -> Result<(), DbError> {
        uncancellable(self.undo()).await
    }

    async fn undo(mut self) -> Result<(), DbError> {
        let mut tx = self.tx.take().expect("a member holds its transaction");
        if !self.joined {
            // Alone in the transaction: roll all of it back.
            return Ok(tx.rollback().await?);
        }
        let undone = MEMBER.undo(&mut tx).await;
        self.group.leave_open(tx, undone.is_err());
        undone
    }
}

/// Runs `work` as a task of its own and waits for it: dropping the wait does not stop it.
async fn uncancellable<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, DbError>> + Send + 'static,
) -> Result<T, DbError> {
    tokio::spawn(work).await.unwrap_or_else(|e| {
        Err(DbError::GroupCommit(format!(
            "a group transaction step failed: {e}"
        )))
    })
}

impl Drop for Member {
    fn drop(&mut self) {
        // Dropped without commit or rollback (an error, a cancelled request). Alone in the
        // transaction, dropping it rolls it back; in a group, whoever comes next rolls its
        // savepoint back first.
        if let Some(tx) = self.tx.take()
            && self.joined
        {
            self.group.leave_open(tx, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{Db, DbOptions, sqlite_url};

    async fn db() -> (Db, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(
            &sqlite_url(&dir.path().join("g.sqlite")),
            &DbOptions::default(),
        )
        .await
        .unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .execute(db.pool())
            .await
            .unwrap();
        (db, dir)
    }

    async fn ids(db: &Db) -> Vec<i64> {
        sqlx::query_scalar("SELECT id FROM t ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap()
    }

    /// Waits (within 10 s) until `n` wait for a turn of `db`: a spawned writer gets there
    /// in its own time on a loaded machine.
    async fn queued(db: &Db, n: usize) {
        let what = format!("{n} writers queued");
        testing::eventually(Duration::from_secs(10), &what, || db.queued_writers() >= n).await;
    }

    async fn insert(tx: &mut crate::Tx, id: i64) {
        sqlx::query("INSERT INTO t (id, v) VALUES ($1, 'x')")
            .bind(id)
            .execute(&mut **tx)
            .await
            .unwrap();
    }

    /// Given many writers at once, when each commits, then each sees its row committed as
    /// soon as its commit returns, and every row is there.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_are_durable_when_their_commit_returns() {
        let (db, _dir) = db().await;
        let writers: Vec<_> = (1..=200)
            .map(|id| {
                let db = db.clone();
                tokio::spawn(async move {
                    let mut tx = db.begin().await.unwrap();
                    insert(&mut tx, id).await;
                    tx.commit().await.unwrap();
                    // Read-your-writes through another connection: committed, not just released.
                    let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t WHERE id = $1")
                        .bind(id)
                        .fetch_one(db.pool())
                        .await
                        .unwrap();
                    assert_eq!(seen, 1, "row {id} not visible after its commit returned");
                })
            })
            .collect();
        for w in futures_join(writers.into_iter()).await {
            w.unwrap();
        }
        assert_eq!(ids(&db).await, (1..=200).collect::<Vec<_>>());
        // They shared commits: far fewer fsyncs than writers.
        let (writers, commits) = db.write_stats().expect("SQLite groups its writers");
        assert_eq!(writers, 200);
        assert!(commits < 100, "{commits} commits for {writers} writers");
    }

    /// Given writers in one group, when one rolls back, one fails a statement and is
    /// dropped, and one is dropped mid-way (a cancelled request), then only theirs is undone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_that_rolls_back_or_is_dropped_undoes_only_itself() {
        let (db, _dir) = db().await;
        // Hold the turn so the others queue up into one group.
        let mut first = db.begin().await.unwrap();
        insert(&mut first, 1).await;
        let kept = {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin().await.unwrap();
                insert(&mut tx, 2).await;
                tx.commit().await
            })
        };
        let rolled_back = {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin().await.unwrap();
                insert(&mut tx, 3).await;
                tx.rollback().await
            })
        };
        let failed = {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin().await.unwrap();
                insert(&mut tx, 4).await;
                // A duplicate of its own row (the other writers' turns may come after
                // this one's): the statement fails, the writer gives up (drop).
                let e = sqlx::query("INSERT INTO t (id, v) VALUES (4, 'dup')")
                    .execute(&mut *tx)
                    .await;
                assert!(e.is_err());
            })
        };
        let cancelled = {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin().await.unwrap();
                insert(&mut tx, 5).await;
                // Never commits: the task is aborted while it holds its turn.
                tokio::time::sleep(Duration::from_secs(3600)).await;
                drop(tx);
            })
        };
        // All four queued behind the first (the committer is not: nothing was left open).
        queued(&db, 4).await;
        // The group's commit waits for every queued writer's turn, the stuck one's too.
        let first = tokio::spawn(first.commit());
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancelled.abort();
        let _ = cancelled.await;
        first.await.unwrap().unwrap();
        kept.await.unwrap().unwrap();
        rolled_back.await.unwrap().unwrap();
        failed.await.unwrap();
        let mut last = db.begin().await.unwrap();
        insert(&mut last, 6).await;
        last.commit().await.unwrap();
        // A writer alone in its transaction, rolled back or dropped.
        let mut alone = db.begin().await.unwrap();
        insert(&mut alone, 7).await;
        alone.rollback().await.unwrap();
        let mut alone = db.begin().await.unwrap();
        insert(&mut alone, 8).await;
        drop(alone);
        assert_eq!(ids(&db).await, vec![1, 2, 6]);
    }

    /// Given a writer waiting for its group's commit, when the next writer of the group is
    /// given up at any moment of its commit (a cancelled request), then the first writer is
    /// told the truth: Ok only if its row is there, and never left waiting.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_given_up_mid_commit_never_costs_the_others_their_commit() {
        let (db, _dir) = db().await;
        for round in 0..40_i64 {
            let mut first = db.begin().await.unwrap();
            insert(&mut first, round * 10 + 1).await;
            let second = {
                let db = db.clone();
                tokio::spawn(async move {
                    let mut tx = db.begin().await.unwrap();
                    insert(&mut tx, round * 10 + 2).await;
                    tx.commit().await
                })
            };
            // The second is queued: the first leaves the transaction open for it.
            tokio::time::sleep(Duration::from_millis(5)).await;
            let first = tokio::spawn(first.commit());
            // Give the second up somewhere in its turn or its commit.
            tokio::time::sleep(Duration::from_micros(50 * round as u64)).await;
            second.abort();
            let committed = tokio::time::timeout(Duration::from_secs(10), first)
                .await
                .expect("the first writer was left waiting")
                .unwrap();
            let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t WHERE id = $1")
                .bind(round * 10 + 1)
                .fetch_one(db.pool())
                .await
                .unwrap();
            assert_eq!(committed.is_ok(), kept == 1, "round {round}: {committed:?}");
        }
    }

    /// Given a writer holding its turn and another queued behind it, when the writers are
    /// paused, then the pause commits what they left open for it (the queued writer's commit
    /// returns while the pause holds), a copy pinned then holds exactly the acknowledged
    /// rows, and a writer that comes during the pause waits until it ends.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pause_commits_what_was_left_open_and_holds_the_writers_back() {
        let (db, dir) = db().await;
        let mut first = db.begin().await.unwrap();
        insert(&mut first, 1).await;
        let second = {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin().await.unwrap();
                insert(&mut tx, 2).await;
                tx.commit().await
            })
        };
        // The second queues first, then the pause (turns are first come first served).
        queued(&db, 1).await;
        let pause = {
            let db = db.clone();
            tokio::spawn(async move { db.pause_writes().await })
        };
        queued(&db, 2).await;
        // The first leaves the transaction open for the second, the second for the pause.
        let first = tokio::spawn(first.commit());
        let pause = pause.await.unwrap().unwrap().expect("SQLite pauses");
        first.await.unwrap().unwrap();
        tokio::time::timeout(Duration::from_secs(10), second)
            .await
            .expect("the queued writer's commit returned while paused")
            .unwrap()
            .unwrap();
        let third = {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin().await.unwrap();
                insert(&mut tx, 3).await;
                tx.commit().await
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!third.is_finished(), "a writer went on during the pause");
        let copy = dir.path().join("copy.sqlite");
        let pinned = db.prepare_copy(&copy).await.unwrap().pin().await.unwrap();
        drop(pause);
        third.await.unwrap().unwrap();
        assert_eq!(ids(&db).await, vec![1, 2, 3]);
        // Made after the third writer committed, the copy is still as of its pin.
        pinned.copy().await.unwrap();
        let copied = Db::connect(&sqlite_url(&copy), &DbOptions::default())
            .await
            .unwrap();
        assert_eq!(ids(&copied).await, vec![1, 2]);
    }

    async fn futures_join<T>(
        handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
    ) -> Vec<Result<T, tokio::task::JoinError>> {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await);
        }
        out
    }
}
