//! Crash points for fault tests: the process aborts (like `kill -9`: no destructors, no
//! flushing) the N-th time a named point is reached. Configured per system, not globally,
//! so in-process tests are unaffected.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where crash points sit. Names are part of the test contract.
pub mod points {
    /// The relay read committed rows but has not published them.
    pub const RELAY_BEFORE_PUBLISH: &str = "relay.before_publish";
    /// The broker acknowledged, the rows are not yet marked sent.
    pub const RELAY_AFTER_PUBLISH: &str = "relay.after_publish";
    /// A consumer applied an event (in a batch, under its savepoint) and has not committed
    /// its transaction yet.
    pub const CONSUMER_IN_BATCH: &str = "consumer.in_batch";
    /// A consumer committed its effect but has not acknowledged the delivery.
    pub const CONSUMER_AFTER_EFFECT: &str = "consumer.after_effect";
}

/// A configured crash point (or none).
#[derive(Clone, Default)]
pub struct Faults {
    armed: Option<Arc<(String, u64, AtomicU64)>>,
}

impl Faults {
    /// Parses `point` or `point:N` (crash on the N-th hit, default 1); empty disables.
    pub fn parse(spec: &str) -> Faults {
        let spec = spec.trim();
        if spec.is_empty() {
            return Faults::default();
        }
        let (name, nth) = match spec.rsplit_once(':') {
            Some((n, k)) if k.parse::<u64>().is_ok() => (n, k.parse().unwrap_or(1)),
            _ => (spec, 1),
        };
        Faults {
            armed: Some(Arc::new((name.to_owned(), nth.max(1), AtomicU64::new(0)))),
        }
    }

    /// Aborts the process if `point` is armed and this is its N-th hit.
    pub fn hit(&self, point: &str) {
        if let Some(armed) = &self.armed
            && armed.0 == point
        {
            let n = armed.2.fetch_add(1, Ordering::SeqCst) + 1;
            if n == armed.1 {
                eprintln!("fault injection: crashing at {point} (hit {n})");
                std::process::abort();
            }
        }
    }
}
