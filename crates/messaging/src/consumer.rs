//! The consumer runner: applies each delivered event once per consumer.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use contracts::Envelope;
use storage::Db;

use crate::faults::points;
use crate::{Faults, MessagingConfig, Outbox, Work, dead_letter};

/// Why a handler did not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event cannot be applied yet (it arrived before one it depends on): retried later,
    /// never dead-lettered before `max_deliver`.
    #[error("not yet applicable: {0}")]
    NotYet(String),
    /// The event can never be applied as it is (bad data): dead-lettered at once.
    #[error("rejected: {0}")]
    Rejected(String),
    /// Something failed (database, ...): retried with backoff.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<storage::DbError> for HandlerError {
    fn from(e: storage::DbError) -> Self {
        HandlerError::Failed(e.into())
    }
}

impl From<contracts::DecodeError> for HandlerError {
    fn from(e: contracts::DecodeError) -> Self {
        HandlerError::Rejected(e.to_string())
    }
}

/// A context's reaction to an event. It runs inside the unit of work that also records the
/// event in the inbox, so its effect (and any events it publishes with
/// [`Work::publish`]) commits exactly once; the consumer commits it, which wakes the relay.
///
/// ```
/// use async_trait::async_trait;
/// use contracts::Envelope;
/// use messaging::{Handler, HandlerError, Work};
///
/// struct OnTick;
///
/// #[async_trait]
/// impl Handler for OnTick {
///     async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
///         storage::query("INSERT INTO ticks (event_id) VALUES ($1)")
///             .bind(event.id.to_string())
///             .execute(&mut **work)
///             .await
///             .map_err(storage::DbError::from)?;
///         // An event it causes: work.publish(&Envelope::new(&next, version, Some(event)))
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Applies `event` within `work` (do not commit it: the consumer does).
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError>;
}

/// Forgets what consumer `consumer` applied (its inbox rows on `conn`, the consuming
/// service's database), so that events delivered again are applied again: for rebuilding
/// a projection together with [`crate::Bus::forget_consumer`]. Returns how many rows went.
pub async fn forget_inbox(
    conn: &mut storage::AnyConnection,
    consumer: &str,
) -> Result<u64, storage::DbError> {
    Ok(storage::query("DELETE FROM inbox WHERE consumer = $1")
        .bind(consumer)
        .execute(conn)
        .await?
        .rows_affected())
}

/// How [`Consumer::apply_run`] undoes a delivery that does not go through.
#[derive(Debug, Clone, Copy)]
enum Undo {
    /// The whole transaction (no savepoints).
    Whole,
    /// That delivery alone (a savepoint each).
    OneEvent,
}

/// A delivery applied in a transaction not yet committed: what to count once it is.
#[derive(Debug, Clone, Copy)]
enum Applied {
    /// New: the handler ran, taking `took_s`, on an event `age_s` old.
    Fresh { took_s: f64, age_s: f64 },
    /// Already in the inbox.
    Duplicate,
}

/// What the bus should do with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Applied, a duplicate, or dead-lettered: acknowledge.
    Done,
    /// Deliver again after the delay.
    Retry(Duration),
}

/// One named consumer of a context: its database (for inbox and effects) and its handler.
#[derive(Clone)]
pub struct Consumer {
    name: String,
    db: Db,
    handler: Arc<dyn Handler>,
    outbox: Outbox,
    config: MessagingConfig,
    faults: Faults,
}

impl Consumer {
    pub fn new(
        name: impl Into<String>,
        db: Db,
        handler: Arc<dyn Handler>,
        outbox: Outbox,
        config: MessagingConfig,
        faults: Faults,
    ) -> Self {
        Consumer {
            name: name.into(),
            db,
            handler,
            outbox,
            config,
            faults,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The most deliveries [`Consumer::process_batch`] should be handed at once.
    pub fn batch_size(&self) -> usize {
        self.config.consumer_batch.max(1)
    }

    /// Handles delivery number `attempt` (from 1) of `body`.
    pub async fn process(&self, body: &[u8], attempt: i64) -> Disposition {
        let envelope: Envelope = match serde_json::from_slice(body) {
            Ok(e) => e,
            Err(e) => {
                let error = format!("not an event envelope: {e}");
                return self.park(body, None, &error, attempt).await;
            }
        };
        let span = self.span(&envelope, attempt);
        // A handler that panics is a failed delivery like any other (retried, then parked):
        // the transaction is dropped (rolled back) and the consumer goes on with the next
        // event, instead of the panic ending the consumer task on every redelivery.
        let applied = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
            tracing::Instrument::instrument(self.apply(&envelope), span),
        ))
        .await
        .unwrap_or_else(|panic| {
            Err(HandlerError::Failed(anyhow::anyhow!(
                "the handler panicked: {}",
                crate::tasks::panic_message(panic.as_ref())
            )))
        });
        match applied {
            Ok(_) => Disposition::Done,
            Err(HandlerError::Rejected(error)) => {
                self.park(body, Some(&envelope), &error, attempt).await
            }
            Err(e) if attempt >= self.config.max_deliver => {
                self.park(body, Some(&envelope), &e.to_string(), attempt)
                    .await
            }
            Err(e) => {
                let delay = self.config.backoff(attempt);
                self.count("retried");
                tracing::warn!(consumer = %self.name, event_id = %envelope.id,
                    event_type = %envelope.event_type, attempt, error = %e, "delivery failed, will retry");
                Disposition::Retry(delay)
            }
        }
    }

    /// Applies the event once in a transaction of its own: its inbox row, then (if new) the
    /// handler. A duplicate is committed too, not rolled back: on SQLite the inbox row seen
    /// may be another writer's in the same group commit, and the ack must wait until it is
    /// durable.
    pub(crate) async fn apply(&self, envelope: &Envelope) -> Result<(), HandlerError> {
        let mut work = self.outbox.begin(&self.db).await?;
        let applied = self.apply_within(&mut work, envelope).await?;
        // A batch of one: applied, not committed (the same crash point as inside a batch).
        self.faults.hit(points::CONSUMER_IN_BATCH);
        work.commit().await?;
        self.counted(&[applied]);
        Ok(())
    }

    /// Writes the event's inbox row; `false` when it is there already (a duplicate).
    async fn record(&self, work: &mut Work, envelope: &Envelope) -> Result<bool, HandlerError> {
        let fresh = storage::query(
            "INSERT INTO inbox (consumer, event_id, event_type, applied_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (consumer, event_id) DO NOTHING",
        )
        .bind(&self.name)
        .bind(envelope.id.to_string())
        .bind(&envelope.event_type)
        .bind(storage::now_micros())
        .execute(&mut **work)
        .await
        .map_err(storage::DbError::from)?
        .rows_affected()
            == 1;
        Ok(fresh)
    }

    /// Handles a batch of deliveries (`(body, attempt)`, in delivery order) with one commit,
    /// so the batch costs one durable write however many events it holds: all of them at
    /// once when they go through cleanly, otherwise each under its own savepoint with its
    /// inbox row.
    ///
    /// Returns the dispositions of a prefix of `deliveries`, in order: it stops after the
    /// first delivery that is not done (a retry), so a caller that keeps per-aggregate order
    /// retries that one before going on with the rest. An event that fails inside the batch
    /// is rolled back to its savepoint, the events before it commit, and it is then handled
    /// alone by [`Consumer::process`] (its retries, dead letter and panic handling), so one
    /// bad event neither spoils nor delays the others.
    pub async fn process_batch(&self, deliveries: &[(&[u8], i64)]) -> Vec<Disposition> {
        if let [(body, attempt)] = deliveries {
            // Alone: no savepoints needed (two round trips saved on PostgreSQL).
            return vec![self.process(body, *attempt).await];
        }
        // First all at once; what did not go through, the careful way.
        let mut done = vec![Disposition::Done; self.apply_run(deliveries, Undo::Whole).await];
        while done.len() < deliveries.len() {
            let rest = &deliveries[done.len()..];
            let applied = self.apply_run(rest, Undo::OneEvent).await;
            done.extend(std::iter::repeat_n(Disposition::Done, applied));
            if let Some(&(body, attempt)) = rest.get(applied) {
                let disposition = self.process(body, attempt).await;
                done.push(disposition);
                if disposition != Disposition::Done {
                    break;
                }
            }
        }
        done
    }

    /// Applies a prefix of `deliveries` in one transaction, commits it and returns its
    /// length (0 when nothing was kept: the first one needs handling alone, or the commit
    /// failed).
    ///
    /// [`Undo::Whole`]: no savepoints; the first delivery that does not go through cleanly
    /// undoes the whole transaction (0). Nearly every batch applies cleanly, and savepoints
    /// cost two statements an event (a fifth of an order's statements), so a batch is tried
    /// this way first; its good events are applied again from scratch if it fails, which a
    /// rolled-back transaction allows (handlers touch nothing outside it).
    ///
    /// [`Undo::OneEvent`]: each event under its own savepoint; the first one that does not
    /// go through cleanly is undone alone and the ones before it commit.
    async fn apply_run(&self, deliveries: &[(&[u8], i64)], undo: Undo) -> usize {
        let Ok(mut work) = self.outbox.begin(&self.db).await else {
            return 0;
        };
        let mut applied = Vec::with_capacity(deliveries.len());
        for &(body, attempt) in deliveries {
            let Ok(envelope) = serde_json::from_slice::<Envelope>(body) else {
                break;
            };
            let span = self.span(&envelope, attempt);
            let savepoint = match undo {
                Undo::Whole => None,
                Undo::OneEvent => match work.savepoint().await {
                    Ok(savepoint) => Some(savepoint),
                    Err(_) => return 0,
                },
            };
            let claims_before = work.open_claims;
            let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
                tracing::Instrument::instrument(self.apply_within(&mut work, &envelope), span),
            ))
            .await;
            // An idempotency key claimed without its response stored would make the commit
            // refuse the whole batch: that event is a failure of its own, like an error.
            let clean = match outcome {
                Ok(Ok(a)) if work.open_claims == claims_before => Some(a),
                _ => None,
            };
            match (clean, savepoint) {
                (Some(a), savepoint) => {
                    if let Some(savepoint) = savepoint
                        && work.release(savepoint).await.is_err()
                    {
                        return 0;
                    }
                    applied.push(a);
                    self.faults.hit(points::CONSUMER_IN_BATCH);
                }
                // An error, a panic (the connection runs its statements in order, so the
                // rollback comes after whatever the panicking handler left in flight) or an
                // open claim: undone, then handled alone next, where it is reported,
                // retried or parked; the ones before it commit.
                (None, Some(savepoint)) => {
                    if work.rollback_to(savepoint).await.is_err() {
                        return 0;
                    }
                    break;
                }
                // Without savepoints: everything goes (the transaction is dropped).
                (None, None) => return 0,
            }
        }
        if applied.is_empty() {
            return 0;
        }
        match work.commit().await {
            Ok(()) => {
                self.counted(&applied);
                applied.len()
            }
            Err(e) => {
                tracing::warn!(consumer = %self.name, error = %e, "a batch did not commit; handling its events one by one");
                0
            }
        }
    }

    /// One delivery inside a batch's transaction: its inbox row, then (if new) the handler.
    /// Returns what to count once the transaction has committed ([`Consumer::counted`]).
    async fn apply_within(
        &self,
        work: &mut Work,
        envelope: &Envelope,
    ) -> Result<Applied, HandlerError> {
        let started = std::time::Instant::now();
        if self.record(work, envelope).await? {
            self.handler.handle(work, envelope).await?;
            let age_us = storage::now_micros().saturating_sub(envelope.time.timestamp_micros());
            Ok(Applied::Fresh {
                took_s: started.elapsed().as_secs_f64(),
                age_s: age_us.max(0) as f64 / 1e6,
            })
        } else {
            tracing::debug!(consumer = %self.name, event_id = %envelope.id, "duplicate delivery ignored");
            Ok(Applied::Duplicate)
        }
    }

    /// Counts deliveries whose transaction committed (a transaction undone and applied
    /// again is counted once).
    fn counted(&self, applied: &[Applied]) {
        let labels = self.labels();
        for a in applied {
            match *a {
                Applied::Fresh { took_s, age_s } => {
                    metrics::histogram!("mcf_consumer_processing_seconds", &labels).record(took_s);
                    metrics::histogram!("mcf_consumer_event_age_seconds", &labels).record(age_s);
                    self.count("applied");
                }
                Applied::Duplicate => self.count("duplicate"),
            }
        }
    }

    /// The consumer's metric labels: its name and its service (the name's prefix before
    /// the first `.`, as every context names its consumers: `matching.on-order-requested`).
    fn labels(&self) -> [(&'static str, String); 2] {
        let service = self.name.split('.').next().unwrap_or_default();
        [
            ("service", service.to_owned()),
            ("consumer", self.name.clone()),
        ]
    }

    /// Counts a delivery's `outcome` (`applied`, `duplicate`, `retried`, `dead_lettered`).
    fn count(&self, outcome: &'static str) {
        let [service, consumer] = self.labels();
        metrics::counter!(
            "mcf_consumer_events_total",
            &[service, consumer, ("outcome", outcome.to_owned())]
        )
        .increment(1);
    }

    /// The span of one delivery. It continues the trace of the envelope (the span that put
    /// the event in its outbox), so what this handler publishes or calls stays in the same
    /// trace: one order, one trace across the services.
    fn span(&self, envelope: &Envelope, attempt: i64) -> tracing::Span {
        let service = self.name.split('.').next().unwrap_or_default();
        let span = tracing::info_span!("event", consumer = %self.name, service,
            event_id = %envelope.id, event_type = %envelope.event_type,
            aggregate_id = %envelope.aggregate_id, correlation_id = %envelope.correlation_id,
            traceparent = envelope.traceparent.as_deref().unwrap_or(""), attempt,
            otel.kind = "consumer");
        telemetry::continue_trace(&span, envelope.traceparent.as_deref());
        span
    }

    /// Called between a committed effect and the acknowledgement (a crash point).
    pub(crate) fn before_ack(&self) {
        self.faults.hit(points::CONSUMER_AFTER_EFFECT);
    }

    async fn park(
        &self,
        body: &[u8],
        envelope: Option<&Envelope>,
        error: &str,
        attempt: i64,
    ) -> Disposition {
        tracing::error!(consumer = %self.name, attempt, error, "event dead-lettered");
        match dead_letter::park(&self.db, &self.name, body, envelope, error, attempt).await {
            Ok(()) => {
                self.count("dead_lettered");
                metrics::counter!("mcf_dead_letters_total", &self.labels()).increment(1);
                Disposition::Done
            }
            // Without the dead-letter row we must not acknowledge: try again later.
            Err(e) => {
                tracing::error!(consumer = %self.name, error = %e, "cannot store dead letter");
                Disposition::Retry(self.config.backoff(attempt))
            }
        }
    }
}
