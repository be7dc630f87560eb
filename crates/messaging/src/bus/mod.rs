//! The broker between contexts: embedded (SQLite log) or NATS JetStream, behind one type.

mod embedded;
mod nats;

use std::sync::Arc;

use contracts::Envelope;

pub use embedded::EmbeddedBus;
pub use nats::NatsBus;

use crate::MessagingConfig;
use crate::consumer::Consumer;

/// A bus failure (broker unreachable, storage error, ...). Always retried by callers.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("embedded bus storage: {0}")]
    Storage(#[from] storage::DbError),
    #[error("NATS: {0}")]
    Nats(String),
}

impl BusError {
    pub(crate) fn nats(e: impl std::fmt::Display) -> Self {
        BusError::Nats(e.to_string())
    }
}

/// What a consumer listens to: one producing context's events of the given types.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Durable consumer name, unique per consuming context and purpose.
    pub consumer: String,
    /// The producing context (= stream), e.g. `ordering`.
    pub source: String,
    /// Event types to receive, e.g. `ordering.order.requested`.
    pub event_types: Vec<String>,
}

/// The bus a system runs on. Cheap to clone.
#[derive(Clone)]
pub enum Bus {
    Embedded(EmbeddedBus),
    Nats(Arc<NatsBus>),
}

impl Bus {
    /// Publishes events durably: returns once the broker has stored all of them. Publishing
    /// an event id twice stores it once (within the de-duplication window on NATS).
    pub async fn publish_all(&self, events: &[&Envelope]) -> Result<(), BusError> {
        match self {
            Bus::Embedded(b) => b.publish_all(events).await,
            Bus::Nats(b) => b.publish_all(events).await,
        }
    }

    /// Forgets the durable consumer `consumer` of `source`'s stream: the next time it runs
    /// it starts from the beginning of the stream (as much of it as the bus still keeps:
    /// `messaging.retention_hours` embedded, the stream's age limit on NATS). For rebuilding
    /// a projection; run it while that consumer is stopped, and forget its inbox
    /// ([`crate::consumer::forget_inbox`]) with it, or the inbox skips what it applied.
    pub async fn forget_consumer(&self, source: &str, consumer: &str) -> Result<(), BusError> {
        match self {
            Bus::Embedded(b) => b.forget_consumer(consumer).await,
            Bus::Nats(b) => b.forget_consumer(source, consumer).await,
        }
    }

    /// How many events of `subscription` the bus holds that its consumer has not yet
    /// acknowledged: its lag, in events. Embedded, counted from the consumer's saved cursor
    /// (saved at most every 250 ms, so an active consumer may show a few events more than it
    /// has left); on NATS, the durable consumer's pending and unacknowledged messages. Embedded,
    /// a consumer that never ran yet counts every event of its stream it listens to; on NATS
    /// it counts none until its first run created it.
    pub async fn pending(&self, subscription: &Subscription) -> Result<u64, BusError> {
        match self {
            Bus::Embedded(b) => b.pending(subscription).await,
            Bus::Nats(b) => b.pending(subscription).await,
        }
    }

    /// Runs `consumer` on `subscription` until shutdown: at-least-once delivery, each event
    /// applied once through the consumer's inbox.
    pub async fn run_consumer(
        &self,
        subscription: Subscription,
        consumer: Consumer,
        config: MessagingConfig,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        match self {
            Bus::Embedded(b) => {
                b.run_consumer(subscription, consumer, config, shutdown)
                    .await
            }
            Bus::Nats(b) => {
                b.run_consumer(subscription, consumer, config, shutdown)
                    .await
            }
        }
    }
}
