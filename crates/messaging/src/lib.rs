//! Reliable messaging between MCF's contexts.
//!
//! - [`Work`]: the unit of work, one transaction whose state changes, published events and
//!   idempotency keys ([`idempotency`]) commit together; its commit wakes the relay.
//! - [`outbox`]: events are written in the same transaction as the state change; the
//!   [`Relay`] publishes committed rows and marks them sent after the broker's ack.
//! - [`consumer`]: the runner applies each delivery once per consumer (idempotent inbox),
//!   retries with backoff and parks what keeps failing in the dead-letter table.
//! - [`Bus`]: the broker, embedded (a durable SQLite log with per-consumer cursors) or
//!   NATS JetStream (a stream per producing context, durable pull consumers).
//! - [`tasks`]: background tasks that survive panics ([`tasks::supervise`]) and the loop
//!   they are written with ([`tasks::repeat`]).
//!
//! Delivery is at least once on both buses; the inbox makes the effect exactly once.

pub mod bus;
pub mod config;
pub mod consumer;
pub mod dead_letter;
pub mod faults;
pub mod idempotency;
pub mod outbox;
pub mod stats;
pub mod tasks;
mod work;

pub use bus::{Bus, BusError};
pub use config::MessagingConfig;
pub use consumer::{Consumer, Handler, HandlerError};
pub use faults::Faults;
pub use outbox::{Outbox, Relay};
pub use tasks::Task;
pub use work::Work;

/// The messaging tables (outbox, inbox, dead letters, idempotency keys) every service
/// database carries.
///
/// Their versions (0001..) sit below the services' timestamped versions; both sets run with
/// `ignore_missing`, so they share one migrations table.
pub fn migrations() -> storage::Migrations {
    storage::migrations!("migrations")
}
