//! The typed client of the routes every service carries (health, readiness, messaging
//! counters, dead letters, background tasks): the example each service's own `client.rs`
//! follows, and what tests use to watch any service's plumbing.
//!
//! A service's client wraps a [`client::Client`] whose base URL is the service's API
//! (`http://host:port/api/<service>`, or an in-process router from [`crate::testing`]) and
//! gives each route a method with its own types, the same types the routes declare:
//!
//! ```no_run
//! # async fn run() -> Result<(), client::ClientError> {
//! let ordering = client::Client::new("http://127.0.0.1:8080/api/ordering");
//! let ops = service::client::OpsClient::new(ordering.with_token("an admin's token"));
//! assert_eq!(ops.health().await?.status, "ok");
//! for letter in ops.dead_letters(false).await? {
//!     ops.replay(&letter.id).await?;
//! }
//! # Ok(()) }
//! ```

use client::{Client, ClientError, Method};
use messaging::dead_letter::DeadLetter;
use messaging::stats::MessagingStats;
use messaging::tasks::TaskState;

use crate::ops::{DeadLetterQuery, Health};

/// The operator and probe routes of one service.
#[derive(Debug, Clone)]
pub struct OpsClient {
    api: Client,
}

impl OpsClient {
    /// The routes of the service `api` points at; the operator routes need an admin's token.
    pub fn new(api: Client) -> Self {
        OpsClient { api }
    }

    /// The client it calls through.
    pub fn api(&self) -> &Client {
        &self.api
    }

    /// `GET /health`: the process answers.
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.api.get("/health").await
    }

    /// `GET /ready`: the service's database answers (a 503 `unavailable` otherwise).
    pub async fn ready(&self) -> Result<Health, ClientError> {
        self.api.get("/ready").await
    }

    /// `GET /ops/messaging`: outbox, inbox and dead-letter counts.
    pub async fn messaging(&self) -> Result<MessagingStats, ClientError> {
        self.api.get("/ops/messaging").await
    }

    /// `GET /ops/dead-letters`: the pending dead letters, or with `all` every one.
    pub async fn dead_letters(&self, all: bool) -> Result<Vec<DeadLetter>, ClientError> {
        self.api
            .request(Method::GET, "/ops/dead-letters")
            .query(&DeadLetterQuery { all })
            .send()
            .await?
            .json()
    }

    /// `POST /ops/dead-letters/{id}/replay`: applies it again through its consumer
    /// (`not_found`, `already_replayed`, `replay_failed` otherwise).
    pub async fn replay(&self, id: &str) -> Result<(), ClientError> {
        self.api
            .request(Method::POST, &format!("/ops/dead-letters/{id}/replay"))
            .send()
            .await?
            .json()
    }

    /// `GET /ops/tasks`: the background tasks, running or not, and their restarts.
    pub async fn tasks(&self) -> Result<Vec<TaskState>, ClientError> {
        self.api.get("/ops/tasks").await
    }
}
