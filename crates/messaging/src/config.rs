use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Tuning of outbox relay and consumers (the `[messaging]` config section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MessagingConfig {
    /// Deliveries of one event to one consumer before it is dead-lettered.
    pub max_deliver: i64,
    /// First retry delay after a failed delivery, in milliseconds (doubles each time).
    pub backoff_initial_ms: u64,
    /// Longest retry delay, in milliseconds.
    pub backoff_max_ms: u64,
    /// Outbox rows a relay publishes per round.
    pub relay_batch: i64,
    /// How often relays and embedded consumers look for work when nobody woke them, ms.
    pub poll_interval_ms: u64,
    /// JetStream: how long the server remembers message ids to drop duplicates, seconds.
    pub nats_duplicate_window_s: u64,
    /// JetStream: how long a delivery may stay unacknowledged before redelivery, seconds.
    pub nats_ack_wait_s: u64,
    /// JetStream: copies of each stream a NATS cluster keeps (1 for a single server; 3 on
    /// a three-node cluster, so a stream survives one node being down). Used when a stream
    /// is created; an existing stream keeps its count.
    pub nats_replicas: usize,
    /// JetStream: deliveries one consumer handles at the same time (per process). The
    /// embedded bus delivers in log order, one at a time.
    pub consumer_concurrency: usize,
    /// Deliveries a consumer applies in one transaction at most (each under its own
    /// savepoint): one durable write for the batch instead of one per event. A batch takes
    /// what is ready; an idle consumer still applies a lone event at once.
    pub consumer_batch: usize,
    /// How long published outbox rows, inbox ids and embedded-bus events are kept, hours.
    /// Inbox ids must outlive any redelivery, so keep this well above the NATS duplicate
    /// window and the longest outage you expect to recover from.
    pub retention_hours: u64,
    /// Fault injection for crash tests, e.g. `relay.after_publish:3` aborts the process the
    /// third time that point is reached. Empty in production.
    pub crash_at: String,
}

impl Default for MessagingConfig {
    fn default() -> Self {
        MessagingConfig {
            max_deliver: 5,
            backoff_initial_ms: 200,
            backoff_max_ms: 30_000,
            relay_batch: 256,
            poll_interval_ms: 500,
            nats_duplicate_window_s: 120,
            nats_ack_wait_s: 30,
            nats_replicas: 1,
            consumer_concurrency: 8,
            consumer_batch: 64,
            retention_hours: 168,
            crash_at: String::new(),
        }
    }
}

impl MessagingConfig {
    /// The delay before delivery number `attempt + 1` (attempts count from 1).
    pub fn backoff(&self, attempt: i64) -> Duration {
        let exp = attempt.saturating_sub(1).clamp(0, 20) as u32;
        let ms = self
            .backoff_initial_ms
            .saturating_mul(1u64 << exp)
            .min(self.backoff_max_ms);
        Duration::from_millis(ms)
    }

    pub(crate) fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms.max(1))
    }

    /// The pace of a messaging loop ([`crate::tasks::repeat`]): polls every
    /// `poll_interval_ms`, backs off from `backoff_initial_ms` up to `backoff_max_ms`.
    pub fn pace(&self) -> crate::tasks::Pace {
        crate::tasks::Pace::polling(self.poll_interval()).backoff(
            Duration::from_millis(self.backoff_initial_ms),
            Duration::from_millis(self.backoff_max_ms),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let c = MessagingConfig {
            backoff_initial_ms: 100,
            backoff_max_ms: 1000,
            ..Default::default()
        };
        assert_eq!(c.backoff(1), Duration::from_millis(100));
        assert_eq!(c.backoff(2), Duration::from_millis(200));
        assert_eq!(c.backoff(4), Duration::from_millis(800));
        assert_eq!(c.backoff(5), Duration::from_millis(1000));
        assert_eq!(c.backoff(500), Duration::from_millis(1000));
    }
}
