//! Order quality: every order's whole story in one place (a timeline per order, folded
//! from Ordering's, Matching's, Inventory's and Billing's events), a review queue fed by failed and
//! canceled orders and by random samples of completed ones, review forms kept as
//! revisions, a register of hypotheses, adjusting the worker in Matching from a review,
//! and failure and cancellation figures.
//!
//! # Where the rules live
//! - [`domain::timeline`]: which events make which timeline entries, and an order's file
//!   folded from its entries alone (any arrival order gives the same file: a projection
//!   rebuilt from the streams equals the live one); failed and canceled orders queue.
//! - [`domain::sample`]: the random draw of completed orders (seeded, repeatable).
//! - [`domain::review`]: the review form, its revisions (append-only, each edit names the
//!   revision it starts from) and the reason an adjustment gives Matching.
//! - [`domain::hypothesis`]: the register's statements and tags.
//! - [`domain::adjustment`]: what may be asked of Matching, and the key that makes it
//!   apply once per review and skill.
//! - [`domain::figures`]: failure and cancellation rates by worker, service type, week.
//! - `app/`: one file per use case; `app/calls.rs` calls Matching and Ordering as the
//!   manager (`service::Peers::client_with`: the manager's own token), with retries, 503
//!   when they do not answer.
//! - `events.rs`: the consumers of the three streams; `rebuild.rs`: the operator's
//!   rebuild of the timeline (`mcf quality rebuild`).
//! - `routes/`: one file per resource; managers and admins only.
//! - `store/`: SQL only.
//! - [`client::QualityClient`]: the typed client of this API.

mod app;
pub mod client;
mod config;
pub mod domain;
mod error;
pub mod events;
pub mod rebuild;
mod routes;
mod store;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use service::Context;

pub use app::{OrderView, QueueEntry, ReviewView};
pub use config::QualityConfig;
pub use error::QualityError;
pub use routes::{DrawRequest, FiguresQuery, HypothesisQuery, OrderQuery, QueueQuery, ReviewEdit};
pub use store::Draw;

service::spec! {
    /// Quality as the binary registers it.
    name: "quality",
    config: QualityConfig,
    build: build,
}

/// Shared state of Quality's handlers, use cases and consumers.
#[derive(Clone)]
pub struct App {
    ctx: Context,
    config: Arc<QualityConfig>,
}

impl App {
    /// The state of a service built from `ctx` with `config`.
    pub fn new(ctx: Context, config: QualityConfig) -> App {
        App {
            ctx,
            config: Arc::new(config),
        }
    }

    /// Business time now, to the microsecond: times are stored so, and what a use case
    /// answers must equal what is read back later.
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        storage::time(storage::micros(self.ctx.clock.now()))
    }
}

/// Builds the service from its context (`[quality]` is its section): its routes, the
/// outbox relay, and one timeline consumer per producing context.
pub fn build(ctx: Context) -> anyhow::Result<service::Service> {
    let config: QualityConfig = ctx.config()?;
    let app = App::new(ctx.clone(), config);
    let mut consumers = Vec::new();
    let mut tasks = vec![ctx.relay_task()];
    for (source, types) in domain::timeline::HEARD {
        let consumer = ctx.consumer(
            &events::consumer_name(source),
            Arc::new(events::OnOrderEvent),
        );
        tasks.push(ctx.consumer_task(source, types, consumer.clone()));
        consumers.push(consumer);
    }
    let routes = routes::routes().with_state(app);
    Ok(service::assemble(&ctx, routes, consumers, tasks))
}
