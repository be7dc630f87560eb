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

use std::time::{Duration, Instant};

/// Polls `check` every few milliseconds until it holds; panics naming `what` once `within`
/// has passed. For what another task or process does in its own time: on a loaded machine a
/// spawned task runs late, and a server may run the handler of a request its client gave up
/// on only later.
pub async fn eventually(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
