//! The embedded bus: a durable log in its own SQLite file, with a cursor per consumer.
//!
//! Same contract as JetStream: an event stored once per id, delivered at least once to every
//! consumer, in log order; a consumer's cursor moves only after its effect is committed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contracts::Envelope;
use storage::{Db, DbOptions, Row};
use tokio::sync::watch;

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

/// Handle to the embedded log. Cheap to clone.
#[derive(Clone)]
pub struct EmbeddedBus {
    db: Db,
    /// Per stream, bumped after every publish to it so its idle consumers wake at once (and
    /// only they: a wake-up costs a consumer a read, and its cursor a save now and then).
    published: Arc<Mutex<HashMap<String, watch::Sender<u64>>>>,
}

impl EmbeddedBus {
    /// Opens (or creates) the log at `path` (a SQLite file).
    pub async fn open(path: &std::path::Path) -> Result<Self, BusError> {
        let db = Db::connect(&storage::sqlite_url(path), &DbOptions::default()).await?;
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
        Ok(EmbeddedBus {
            db,
            published: Arc::default(),
        })
    }

    /// The log's database: a backup pauses its writers and copies it with the services'
    /// databases, as of one moment.
    pub fn db(&self) -> &Db {
        &self.db
    }

    pub(crate) async fn publish_all(&self, events: &[&Envelope]) -> Result<(), BusError> {
        let mut tx = self.db.begin().await?;
        for e in events {
            let body = serde_json::to_string(e).expect("envelopes always serialize");
            storage::query(
                "INSERT INTO bus_events (id, stream, subject, body, stored_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
            )
            .bind(e.id.to_string())
            .bind(&e.source)
            .bind(&e.event_type)
            .bind(body)
            .bind(storage::now_micros())
            .execute(&mut *tx)
            .await
            .map_err(storage::DbError::from)?;
        }
        tx.commit().await?;
        let mut streams: Vec<&str> = events.iter().map(|e| e.source.as_str()).collect();
        streams.sort_unstable();
        streams.dedup();
        for stream in streams {
            self.stream(stream).send_modify(|n| *n += 1);
        }
        Ok(())
    }

    /// The wake-up channel of `stream`.
    fn stream(&self, stream: &str) -> watch::Sender<u64> {
        let mut published = self.published.lock().unwrap_or_else(|e| e.into_inner());
        published
            .entry(stream.to_owned())
            .or_insert_with(|| watch::Sender::new(0))
            .clone()
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
        let types: Vec<String> = (0..sub.event_types.len())
            .map(|i| format!("${}", i + 3))
            .collect();
        let sql = format!(
            "SELECT COUNT(*) FROM bus_events WHERE stream = $1 AND seq > \
             (SELECT COALESCE(MAX(position), 0) FROM bus_cursors WHERE consumer = $2) \
             AND subject IN ({})",
            types.join(", ")
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
        let pace = config
            .pace()
            .woken_by(Wake::Changes(self.stream(&sub.source).subscribe()));
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
        // The log's end now: appends commit in sequence order, so nothing will appear at or
        // below it later. A stream with nothing more up to it lets the cursor move there, so
        // a consumer of a quiet stream neither reads past other streams' events again and
        // again nor holds back pruning.
        let end: i64 = storage::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM bus_events")
            .fetch_one(self.db.pool())
            .await?;
        let limit = consumer.batch_size();
        let rows = storage::query(
            "SELECT seq, subject, body FROM bus_events WHERE stream = $1 AND seq > $2 \
             AND seq <= $3 ORDER BY seq LIMIT $4",
        )
        .bind(&sub.source)
        .bind(position)
        .bind(end)
        .bind(i64::try_from(limit).unwrap_or(256))
        .fetch_all(self.db.pool())
        .await?;
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
            .filter(|r| sub.event_types.contains(&r.get::<String, _>("subject")))
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
