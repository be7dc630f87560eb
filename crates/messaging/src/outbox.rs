//! The transactional outbox and its relay.

use std::sync::Arc;

use contracts::Envelope;
use storage::{AnyConnection, Backend, Db, DbError, Row};
use tokio::sync::{Notify, watch};

use crate::faults::points;
use crate::tasks::{self, Progress, Wake};
use crate::{Bus, Faults, MessagingConfig};

/// A service's outbox: where its transactions put the events they announce. Cheap to
/// clone; start a [`Work`](crate::Work) on it with [`Outbox::begin`].
#[derive(Clone)]
pub struct Outbox {
    wake: Arc<Notify>,
}

impl Default for Outbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Outbox {
    /// A new outbox handle; its relay is the one built with (a clone of) it.
    pub fn new() -> Self {
        Outbox {
            wake: Arc::new(Notify::new()),
        }
    }

    /// Tells the relay that a transaction with events just committed (saves a poll); called
    /// by [`Work::commit`](crate::Work::commit).
    pub(crate) fn committed(&self) {
        self.wake.notify_one();
    }
}

/// Writes `event`'s outbox row on `conn`: published if and only if that transaction commits.
/// Only [`Work::publish`](crate::Work::publish) calls it, so no event is written without its
/// commit waking the relay.
pub(crate) async fn append(conn: &mut AnyConnection, event: &Envelope) -> Result<(), DbError> {
    // The event goes on in the trace of the span publishing it (a request, or the handling of
    // the event that caused it), which its consumers continue. Without traces (no span, no
    // OpenTelemetry layer) the envelope keeps the context it was made with.
    let traced = telemetry::current_traceparent()
        .filter(|current| event.traceparent.as_deref() != Some(current))
        .map(|current| Envelope {
            traceparent: Some(current),
            ..event.clone()
        });
    let event = traced.as_ref().unwrap_or(event);
    let body = serde_json::to_string(event).expect("envelopes always serialize");
    storage::query(
        "INSERT INTO outbox (id, event_type, aggregate_id, body, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(event.id.to_string())
    .bind(&event.event_type)
    .bind(&event.aggregate_id)
    .bind(body)
    .bind(storage::now_micros())
    .execute(conn)
    .await?;
    Ok(())
}

/// Publishes committed outbox rows in order and marks them sent after the broker's ack.
///
/// A crash between publishing and marking republishes the rows on restart; the broker drops
/// them by event id and consumers' inboxes drop whatever slips through.
pub struct Relay {
    db: Db,
    bus: Bus,
    outbox: Outbox,
    config: MessagingConfig,
    faults: Faults,
}

struct Pending {
    seq: i64,
    envelope: Envelope,
}

impl Relay {
    pub fn new(db: Db, bus: Bus, outbox: Outbox, config: MessagingConfig, faults: Faults) -> Self {
        Relay {
            db,
            bus,
            outbox,
            config,
            faults,
        }
    }

    /// Runs until `shutdown` turns true: publishes whenever woken by a commit or every poll
    /// interval, prunes past the retention every ten minutes.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let next_prune = std::sync::Mutex::new(tokio::time::Instant::now());
        let pace = self
            .config
            .pace()
            .woken_by(Wake::Notify(self.outbox.wake.clone()));
        tasks::repeat("outbox relay", shutdown, pace, || async {
            if prune_due(&next_prune)
                && let Err(e) = self.prune().await
            {
                tracing::warn!(error = %e, "pruning old messaging rows failed");
            }
            Ok(match self.relay_once().await? {
                0 => Progress::Idle,
                _ => Progress::Busy,
            })
        })
        .await
    }

    /// Deletes what is older than the retention: published outbox rows, inbox ids,
    /// idempotency keys, and embedded-bus events every consumer has passed.
    pub async fn prune(&self) -> anyhow::Result<()> {
        let hours = i64::try_from(self.config.retention_hours).unwrap_or(i64::MAX / 4);
        let before = storage::now_micros().saturating_sub(hours.saturating_mul(3_600_000_000));
        let mut tx = self.db.begin().await?;
        let outbox = storage::query(
            "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let inbox = storage::query("DELETE FROM inbox WHERE applied_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let idempotency_keys = crate::idempotency::prune(&mut tx, before).await?;
        tx.commit().await?;
        if let Bus::Embedded(bus) = &self.bus {
            bus.prune(before).await?;
        }
        if outbox + inbox + idempotency_keys > 0 {
            tracing::info!(
                outbox,
                inbox,
                idempotency_keys,
                "pruned messaging rows past retention"
            );
        }
        Ok(())
    }

    /// Publishes one batch; returns how many rows it published.
    pub async fn relay_once(&self) -> anyhow::Result<usize> {
        match self.db.backend() {
            // One process owns a SQLite file: no claiming needed.
            Backend::Sqlite => {
                let batch = self
                    .pending(self.db.pool().acquire().await?.as_mut())
                    .await?;
                if batch.is_empty() {
                    return Ok(0);
                }
                self.publish(&batch).await?;
                let mut tx = self.db.begin().await?;
                mark_sent(&mut tx, &batch).await?;
                tx.commit().await?;
                Ok(batch.len())
            }
            // Replicas claim disjoint rows; the lock is held across the publish so a row is
            // published by one relay at a time.
            Backend::Postgres => {
                let mut tx = self.db.begin().await?;
                let batch = self.pending(&mut tx).await?;
                if batch.is_empty() {
                    tx.rollback().await?;
                    return Ok(0);
                }
                self.publish(&batch).await?;
                mark_sent(&mut tx, &batch).await?;
                tx.commit().await?;
                Ok(batch.len())
            }
        }
    }

    /// The next batch to publish; on PostgreSQL claimed for the transaction `conn` is in.
    async fn pending(&self, conn: &mut AnyConnection) -> anyhow::Result<Vec<Pending>> {
        let sql = format!(
            "SELECT seq, body FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1{}",
            storage::skip_locked(conn)
        );
        let rows = storage::query(sqlx::AssertSqlSafe(sql))
            .bind(self.config.relay_batch)
            .fetch_all(conn)
            .await?;
        rows.into_iter()
            .map(|r| {
                let body: String = r.get("body");
                Ok(Pending {
                    seq: r.get("seq"),
                    envelope: serde_json::from_str(&body)?,
                })
            })
            .collect()
    }

    async fn publish(&self, batch: &[Pending]) -> anyhow::Result<()> {
        self.faults.hit(points::RELAY_BEFORE_PUBLISH);
        let envelopes: Vec<&Envelope> = batch.iter().map(|p| &p.envelope).collect();
        self.bus.publish_all(&envelopes).await?;
        // Per producing context: an outbox holds only its own service's events, so their
        // source is the relay's service.
        for e in &envelopes {
            metrics::counter!("mcf_outbox_relayed_events_total", "service" => e.source.clone())
                .increment(1);
        }
        self.faults.hit(points::RELAY_AFTER_PUBLISH);
        Ok(())
    }
}

/// Whether a prune is due, moving the next one ten minutes on if so.
fn prune_due(next: &std::sync::Mutex<tokio::time::Instant>) -> bool {
    let mut next = next.lock().unwrap_or_else(|e| e.into_inner());
    let due = tokio::time::Instant::now() >= *next;
    if due {
        *next += std::time::Duration::from_secs(600);
    }
    due
}

async fn mark_sent(conn: &mut AnyConnection, batch: &[Pending]) -> Result<(), DbError> {
    if batch.is_empty() {
        return Ok(());
    }
    // One statement for the batch (one round trip on PostgreSQL): the sequence numbers are
    // integers we read ourselves, written into the text as numbers.
    let seqs: Vec<String> = batch.iter().map(|p| p.seq.to_string()).collect();
    let sql = format!(
        "UPDATE outbox SET published_at = $1 WHERE seq IN ({})",
        seqs.join(", ")
    );
    storage::query(sqlx::AssertSqlSafe(sql))
        .bind(storage::now_micros())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
