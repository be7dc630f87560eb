//! Hermetic test servers: a throw-away PostgreSQL cluster and a NATS JetStream server, each
//! on a free port in a temporary directory, killable and restartable for fault tests.

mod nats;
mod postgres;
mod process;

pub use nats::Nats;
pub use postgres::Postgres;
pub use process::free_port;
