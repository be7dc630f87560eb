//! Hermetic test servers: a throw-away PostgreSQL cluster, a NATS JetStream server and an
//! S3-compatible store (moto), each
//! on a free port in a temporary directory, killable and restartable for fault tests.

mod nats;
mod postgres;
mod process;
mod s3;

pub use nats::{Nats, NatsCluster};
pub use postgres::Postgres;
pub use process::free_port;
pub use s3::S3;
