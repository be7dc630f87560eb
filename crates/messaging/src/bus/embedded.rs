//! The embedded bus: a durable log in its own SQLite file, with a cursor per consumer.
//!
//! Same contract as JetStream: an event stored once per id, delivered at least once to every
//! consumer, in log order; a consumer's cursor moves only after its effect is committed.
//!
//! # Why appends do not wait for an fsync before consumers see them
//!
//! The log is written with `synchronous = NORMAL`: an append's commit is safe from the
//! process dying at once, and from the machine losing power once the WAL is synced.
//! [`EmbeddedBus::publish_all`] wakes the consumers right after the commit and then syncs
//! (one fsync shared by every publisher waiting for one), and returns only then: the relay
//! marks its outbox rows sent after that, so until an event is durable in the log it is
//! still due in its producer's outbox. A power loss can only cut the log's tail (WAL frames
//! are checked in order), cursors saved with it; the relay publishes the lost events again and
//! the consumers that had already applied them find them in their inboxes. The fsync is off
//! the path from one context's commit to the next context's work, where it used to be once
//! per hop.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contracts::Envelope;
use storage::{Db, DbOptions, Row};
use tokio::sync::{Notify, watch};

use super::{BusError, Subscription};
use crate::MessagingConfig;
use crate::consumer::{Consumer, Disposition};
use crate::tasks::{self, Progress, Wake};

/// How often a consumer's cursor is saved at most (see `consume_batch`).
const CURSOR_SAVE_INTERVAL: Duration = Duration::from_millis(250);

/// A consumer's place in the log: how far it has applied, and what is saved.
struct Cursor {
    position: i64,
    saved: i64,
    saved_at: tokio::time::Instant,
}

/// A running consumer's wake-up: the event types of its stream it listens to.
struct Listener {
    stream: String,
    event_types: HashSet<String>,
    wake: Arc<Notify>,
}

/// Handle to the embedded log. Cheap to clone.
#[derive(Clone)]
pub struct EmbeddedBus {
    db: Db,
    /// The running consumers, woken after a publish holding an event they listen to (and
    /// only they: a wake-up costs a consumer a read, and its cursor a save now and then).
    listeners: Arc<Mutex<Vec<Listener>>>,
    /// The highest sequence number committed through this handle (or found at open): every
    /// event at or below it is committed, so a woken consumer reads up to it without asking
    /// the log where it ends.
    end: Arc<AtomicI64>,
}

impl EmbeddedBus {
    /// Opens (or creates) the log at `path` (a SQLite file).
    pub async fn open(path: &std::path::Path) -> Result<Self, BusError> {
        // Not durable per commit: see the module's documentation.
        let options = DbOptions {
            durable_commits: false,
            ..DbOptions::default()
        };
        let db = Db::connect(&storage::sqlite_url(path), &options).await?;
        let mut tx = db.begin().await?;
        storage::query(
            "CREATE TABLE IF NOT EXISTS bus_events (\
                 seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, \
                 stream TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, \
                 stored_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await
        .map_err(storage::DbError::from)?;
        // A consumer reads its own stream from its cursor on.
        storage::query(
            "CREATE INDEX IF NOT EXISTS bus_events_by_stream ON bus_events (stream, seq)",
        )
        .execute(&mut *tx)
        .await
        .map_err(storage::DbError::from)?;
        storage::query(
            "CREATE TABLE IF NOT EXISTS bus_cursors (\
                 consumer TEXT PRIMARY KEY, position BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await
        .map_err(storage::DbError::from)?;
        tx.commit().await?;
        let end = read_end(&db).await?;
        Ok(EmbeddedBus {
            db,
            listeners: Arc::default(),
            end: Arc::new(AtomicI64::new(end)),
        })
    }

    /// The log's database: a backup pauses its writers and copies it with the services'
    /// databases, as of one moment.
    pub fn db(&self) -> &Db {
        &self.db
    }

    pub(crate) async fn publish_all(&self, events: &[&Envelope]) -> Result<(), BusError> {
        let mut tx = self.db.begin().await?;
        let mut last = None;
        for e in events {
            let body = serde_json::to_string(e).expect("envelopes always serialize");
            // No row comes back for an id already stored.
            let seq: Option<i64> = storage::query_scalar(
                "INSERT INTO bus_events (id, stream, subject, body, stored_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING RETURNING seq",
            )
            .bind(e.id.to_string())
            .bind(&e.source)
            .bind(&e.event_type)
            .bind(body)
            .bind(storage::now_micros())
            .fetch_optional(&mut *tx)
            .await
            .map_err(storage::DbError::from)?;
            last = last.max(seq);
        }
        tx.commit().await?;
        // Writers commit one at a time in sequence order, so everything up to `last` is
        // committed now.
        if let Some(last) = last {
            self.end.fetch_max(last, Ordering::SeqCst);
        }
        self.wake_listeners(events);
        self.db.sync_wal().await?;
        Ok(())
    }

    /// Wakes the consumers listening to any of `events`.
    fn wake_listeners(&self, events: &[&Envelope]) {
        let listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        for l in listeners.iter() {
            if events
                .iter()
                .any(|e| e.source == l.stream && l.event_types.contains(&e.event_type))
            {
                l.wake.notify_one();
            }
        }
    }

    /// Registers a running consumer's wake-up; it stays until the consumer stops.
    fn listen(&self, sub: &Subscription) -> Arc<Notify> {
        let wake = Arc::new(Notify::new());
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Listener {
                stream: sub.source.clone(),
                event_types: sub.event_types.iter().cloned().collect(),
                wake: wake.clone(),
            });
        wake
    }

    fn stop_listening(&self, wake: &Arc<Notify>) {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|l| !Arc::ptr_eq(&l.wake, wake));
    }

    /// Deletes events stored before `before` (unix µs) that every consumer has passed.
    pub async fn prune(&self, before: i64) -> Result<u64, BusError> {
        let mut tx = self.db.begin().await?;
        let n = storage::query(
            "DELETE FROM bus_events WHERE stored_at < $1 \
             AND seq <= (SELECT COALESCE(MIN(position), 0) FROM bus_cursors)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(storage::DbError::from)?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    /// Events stored in the log (all streams).
    pub async fn len(&self) -> Result<i64, BusError> {
        let n: i64 = storage::query_scalar("SELECT COUNT(*) FROM bus_events")
            .fetch_one(self.db.pool())
            .await
            .map_err(storage::DbError::from)?;
        Ok(n)
    }

    /// True when the log holds no event.
    pub async fn is_empty(&self) -> Result<bool, BusError> {
        Ok(self.len().await? == 0)
    }

    pub(crate) async fn pending(&self, sub: &Subscription) -> Result<u64, BusError> {
        if sub.event_types.is_empty() {
            return Ok(0);
        }
        // The types are bound as parameters: one placeholder per type.
        let sql = format!(
            "SELECT COUNT(*) FROM bus_events WHERE stream = $1 AND seq > \
             (SELECT COALESCE(MAX(position), 0) FROM bus_cursors WHERE consumer = $2) \
             AND subject IN ({})",
            storage::placeholders(3, sub.event_types.len())
        );
        let mut query = storage::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
            .bind(&sub.source)
            .bind(&sub.consumer);
        for t in &sub.event_types {
            query = query.bind(t);
        }
        let n = query
            .fetch_one(self.db.pool())
            .await
            .map_err(storage::DbError::from)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub(crate) async fn forget_consumer(&self, consumer: &str) -> Result<(), BusError> {
        let mut tx = self.db.begin().await?;
        storage::query("DELETE FROM bus_cursors WHERE consumer = $1")
            .bind(consumer)
            .execute(&mut *tx)
            .await
            .map_err(storage::DbError::from)?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn run_consumer(
        &self,
        sub: Subscription,
        consumer: Consumer,
        config: MessagingConfig,
        shutdown: watch::Receiver<bool>,
    ) {
        let wake = self.listen(&sub);
        let pace = config.pace().woken_by(Wake::Notify(wake.clone()));
        let name = format!("embedded consumer {}", sub.consumer);
        let stop = shutdown.clone();
        let cursor = tokio::sync::Mutex::new(None);
        tasks::repeat(&name, shutdown, pace, || async {
            let mut cursor = cursor.lock().await;
            Ok(
                match self
                    .consume_batch(&sub, &consumer, &stop, &mut cursor)
                    .await?
                {
                    true => Progress::Busy,
                    false => Progress::Idle,
                },
            )
        })
        .await;
        self.stop_listening(&wake);
        // Leaving (shutdown): keep what is done, so a restart does not go over it again.
        if let Some(c) = cursor.lock().await.as_mut()
            && let Err(e) = self.flush_cursor(&sub.consumer, c).await
        {
            tracing::warn!(consumer = %sub.consumer, error = %e, "cursor not saved at shutdown");
        }
    }

    /// Saves the cursor if [`CURSOR_SAVE_INTERVAL`] has passed since it was last saved.
    async fn save_if_due(&self, consumer: &str, cursor: &mut Cursor) -> Result<(), BusError> {
        if cursor.saved_at.elapsed() >= CURSOR_SAVE_INTERVAL {
            self.flush_cursor(consumer, cursor).await?;
        }
        Ok(())
    }

    /// Saves the cursor if it moved since last saved.
    async fn flush_cursor(&self, consumer: &str, cursor: &mut Cursor) -> Result<(), BusError> {
        if cursor.position > cursor.saved {
            self.set_cursor(consumer, cursor.position).await?;
            cursor.saved = cursor.position;
        }
        cursor.saved_at = tokio::time::Instant::now();
        Ok(())
    }

    /// Handles the next batch after the consumer's cursor. Returns whether anything was
    /// there.
    ///
    /// The cursor is kept in memory and saved at most every [`CURSOR_SAVE_INTERVAL`] (and at
    /// shutdown), not after every batch: saving is a durable write on the log, and on the
    /// path of the next hop's append. A crash loses at most that much progress, and what is
    /// delivered again is a duplicate the consumer's inbox turns into a no-op.
    async fn consume_batch(
        &self,
        sub: &Subscription,
        consumer: &Consumer,
        shutdown: &watch::Receiver<bool>,
        cursor: &mut Option<Cursor>,
    ) -> anyhow::Result<bool> {
        let cursor = match cursor {
            Some(c) => c,
            None => {
                // The row exists from the first run on, so pruning waits for this consumer
                // even before it saved a position.
                let mut tx = self.db.begin().await?;
                storage::query(
                    "INSERT INTO bus_cursors (consumer, position) VALUES ($1, 0) \
                     ON CONFLICT (consumer) DO NOTHING",
                )
                .bind(&sub.consumer)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                let saved: i64 = storage::query_scalar(
                    "SELECT COALESCE(MAX(position), 0) FROM bus_cursors WHERE consumer = $1",
                )
                .bind(&sub.consumer)
                .fetch_one(self.db.pool())
                .await?;
                cursor.insert(Cursor {
                    position: saved,
                    saved,
                    saved_at: tokio::time::Instant::now(),
                })
            }
        };
        let position = cursor.position;
        // The log's end: appends commit in sequence order, so nothing will appear at or
        // below it later. A stream with nothing more up to it lets the cursor move there, so
        // a consumer of a quiet stream neither reads past other streams' events again and
        // again nor holds back pruning. A consumer woken by a publish knows the end already;
        // one that polls (or whose cursor reached it) asks the log, which also sees appends
        // made through another handle on the file.
        let known = self.end.load(Ordering::SeqCst);
        let end = if known > position {
            known
        } else {
            let end = read_end(&self.db).await?;
            self.end.fetch_max(end, Ordering::SeqCst);
            end.max(known)
        };
        if sub.event_types.is_empty() {
            cursor.position = cursor.position.max(end);
            self.save_if_due(&sub.consumer, cursor).await?;
            return Ok(false);
        }
        let limit = consumer.batch_size();
        // Only the types it listens to: the stream's other events are none of its business.
        let sql = format!(
            "SELECT seq, body FROM bus_events WHERE stream = $1 AND seq > $2 \
             AND seq <= $3 AND subject IN ({}) ORDER BY seq LIMIT $4",
            storage::placeholders(5, sub.event_types.len())
        );
        let mut query = storage::query(sqlx::AssertSqlSafe(sql))
            .bind(&sub.source)
            .bind(position)
            .bind(end)
            .bind(i64::try_from(limit).unwrap_or(256));
        for t in &sub.event_types {
            query = query.bind(t);
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        if rows.is_empty() {
            cursor.position = cursor.position.max(end);
            self.save_if_due(&sub.consumer, cursor).await?;
            return Ok(false);
        }
        let read_all = rows.len() < limit;
        // The cursor moves past the batch once every effect in it committed: a crash before
        // it is saved redelivers events the inbox turns into no-ops. The events are applied
        // a run at a time in one transaction each (`Consumer::process_batch`), so a batch
        // costs a durable write or two, not one per event. Order is kept: an event that must
        // be retried is retried (blocking the ones after it) before the rest goes on.
        let last = rows
            .last()
            .map(|r| r.get::<i64, _>("seq"))
            .unwrap_or(position);
        let wanted: Vec<(i64, String)> = rows
            .into_iter()
            .map(|r| (r.get("seq"), r.get("body")))
            .collect();
        let mut next = 0;
        while next < wanted.len() {
            let deliveries: Vec<(&[u8], i64)> = wanted[next..]
                .iter()
                .map(|(_, body)| (body.as_bytes(), 1))
                .collect();
            let dispositions = consumer.process_batch(&deliveries).await;
            for d in &dispositions {
                match *d {
                    Disposition::Done => consumer.before_ack(),
                    Disposition::Retry(delay) => {
                        // Retry this one alone until it is done, then go on with the rest.
                        let (seq, body) = &wanted[next + dispositions.len() - 1];
                        let mut attempt = 1;
                        let mut delay = delay;
                        loop {
                            if *shutdown.borrow() {
                                // Everything before it is done: resume from it next time.
                                cursor.position = cursor.position.max(seq - 1);
                                return Ok(true);
                            }
                            tokio::time::sleep(delay.min(Duration::from_secs(60))).await;
                            attempt += 1;
                            match consumer.process(body.as_bytes(), attempt).await {
                                Disposition::Done => break,
                                Disposition::Retry(d) => delay = d,
                            }
                        }
                        consumer.before_ack();
                    }
                }
            }
            next += dispositions.len();
        }
        cursor.position = if read_all { last.max(end) } else { last };
        // Saved after the work, off the path of what was just read.
        self.save_if_due(&sub.consumer, cursor).await?;
        Ok(true)
    }

    async fn set_cursor(&self, consumer: &str, seq: i64) -> Result<(), BusError> {
        let mut tx = self.db.begin().await?;
        storage::query(
            "INSERT INTO bus_cursors (consumer, position) VALUES ($1, $2) \
             ON CONFLICT (consumer) DO UPDATE SET position = excluded.position",
        )
        .bind(consumer)
        .bind(seq)
        .execute(&mut *tx)
        .await
        .map_err(storage::DbError::from)?;
        tx.commit().await?;
        Ok(())
    }
}

/// The highest sequence number in the log (0 when empty).
async fn read_end(db: &Db) -> Result<i64, BusError> {
    let end: i64 = storage::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM bus_events")
        .fetch_one(db.pool())
        .await
        .map_err(storage::DbError::from)?;
    Ok(end)
}
