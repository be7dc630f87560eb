//! Reliable messaging between MCF's contexts.
//!
//! - [`outbox`]: events are written in the same transaction as the state change; the
//!   [`Relay`] publishes committed rows and marks them sent after the broker's ack.
//! - [`consumer`]: the runner applies each delivery once per consumer (idempotent inbox),
//!   retries with backoff and parks what keeps failing in the dead-letter table.
//! - [`Bus`]: the broker, embedded (a durable SQLite log with per-consumer cursors) or
//!   NATS JetStream (a stream per producing context, durable pull consumers).
//!
//! Delivery is at least once on both buses; the inbox makes the effect exactly once.

pub mod bus;
pub mod config;
pub mod consumer;
pub mod dead_letter;
pub mod faults;
pub mod outbox;
pub mod stats;
pub mod tasks;

pub use bus::{Bus, BusError};
pub use config::MessagingConfig;
pub use consumer::{Consumer, Handler, HandlerError};
pub use faults::Faults;
pub use outbox::{Outbox, Relay};
pub use tasks::Task;

/// The messaging tables (outbox, inbox, dead letters) every service database carries.
///
/// Their versions (0001..) sit below the services' timestamped versions; both sets run with
/// `ignore_missing`, so they share one migrations table.
pub fn migrations() -> storage::Migrations {
    storage::Migrations::new(
        sqlx::migrate!("migrations/sqlite"),
        sqlx::migrate!("migrations/postgres"),
    )
}
