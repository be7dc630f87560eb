//! Matching: picks a worker (normal sample) for every order (reference sample) through a
//! configurable pipeline of steps, prices it, and publishes the assignment.
//!
//! # Where the rules live
//!
//! - **Pipeline**: filters, then weighted scores, then the best total wins; the fallback when
//!   filters leave nobody; the explanation and summary of a decision:
//!   `domain/pipeline.rs` ([`Pipeline::decide`], pure).
//! - **Pipeline steps**: what each built-in step checks or scores (availability,
//!   exclude_failed, skill_fit, past_results, load_balance) and how an external step falls
//!   back: `domain/steps.rs`. Adding a step is one type there plus its name in `build`.
//! - **Pricing**: the price of an order (`Pricing`, `FlatPrice`): `domain/steps.rs`.
//! - **Step configuration**: which steps, in which order, with which weights; what an
//!   external step takes (`StepConfig`, refused by serde when it mixes kinds) and the value
//!   checks naming `matching.steps[i].<key>` (`Pipeline::from_config`): `config.rs`,
//!   `domain/pipeline.rs`.
//! - **External steps**: the HTTP wire format, timeouts and answers: `external.rs`.
//! - **Roster**: the in-memory view of every worker the pipeline decides over (skills
//!   interned, bookings, load): `domain/roster.rs`; how replicas keep it equal to the
//!   database (the roster lock and change log): `app/matcher.rs`.
//! - **Samples**: what a reference sample and a normal sample are, an order's end, strengths
//!   and weaknesses, the success rate with its prior: `domain/samples.rs`.
//! - **Profiles and adjustments**: valid levels and adjustments, the most skills a profile
//!   holds, which levels a replaced profile audits: `domain/adjustments.rs`; the profile as
//!   submitted: `routes/normal_samples.rs`.
//! - **Order outcomes**: which results count in a worker's history: `app/close.rs`.
//! - **When orders are matched**: at once on `order.requested`, or by the background
//!   matcher (waiting orders, external steps): `app/request.rs`, `app/matcher.rs`,
//!   `jobs.rs`.

pub mod app;
pub mod client;
mod config;
pub mod domain;
mod error;
pub mod events;
pub mod external;
pub mod jobs;
mod routes;
pub mod store;
#[cfg(test)]
// Tests take "now" from the machine where any instant will do.
#[allow(clippy::disallowed_methods)]
mod tests;

use std::sync::Arc;

use contracts::Event;
use contracts::ordering::{OrderCompleted, OrderRequested};
use service::Context;
use tokio::sync::Notify;

pub use app::matcher::Matcher;
pub use config::{DEFAULT_FALLBACK_SCORE, DEFAULT_TIMEOUT_MS, MatchingConfig, StepConfig};
pub use domain::pipeline::{Pipeline, PipelineError};
pub use error::MatchingError;

service::spec! {
    /// Matching as the binary registers it.
    name: "matching",
    config: MatchingConfig,
    build: build,
}

/// What the use cases of `app` work with: the context, the background matcher's wake-up
/// (a worker registered or changed) and the matcher itself.
#[derive(Clone)]
pub struct App {
    pub ctx: Context,
    pub wake: Arc<Notify>,
    /// The process's matcher, whose in-memory roster `GET /ops/roster` shows.
    pub matcher: Arc<Matcher>,
}

/// Builds the service: routes, relay, the consumers and the waiting-order matcher.
///
/// `[matching]` is its section (the pipeline's steps).
pub fn build(ctx: Context) -> anyhow::Result<service::Service> {
    let config: MatchingConfig = ctx.config()?;
    let matcher = Arc::new(
        Matcher::new(Arc::new(Pipeline::from_config(&config)?)).with_clock(ctx.clock.clone()),
    );
    let wake = Arc::new(Notify::new());
    // The routes read the same matcher's roster the consumers and the sweep decide over.
    let roster_of = matcher.clone();
    let on_requested = ctx.consumer(
        events::ON_ORDER_REQUESTED,
        Arc::new(events::OnOrderRequested {
            matcher: matcher.clone(),
            wake: wake.clone(),
        }),
    );
    let on_hired = ctx.consumer(
        events::ON_WORKER_HIRED,
        Arc::new(events::OnWorkerHired {
            wake: wake.clone(),
            clock: ctx.clock.clone(),
        }),
    );
    let on_closed = ctx.consumer(
        events::ON_ORDER_CLOSED,
        Arc::new(events::OnOrderClosed {
            clock: ctx.clock.clone(),
        }),
    );
    let tasks = vec![
        ctx.consumer_task(
            contracts::hiring::WorkerHired::SOURCE,
            &[contracts::hiring::WorkerHired::TYPE],
            on_hired.clone(),
        ),
        ctx.relay_task(),
        ctx.consumer_task(
            OrderRequested::SOURCE,
            &[OrderRequested::TYPE],
            on_requested.clone(),
        ),
        ctx.consumer_task(
            OrderCompleted::SOURCE,
            events::CLOSING_EVENTS,
            on_closed.clone(),
        ),
        {
            // A restarted matcher keeps the shared roster cache: a refresh cut short leaves
            // the cache's sequence number behind its changes, so the next refresh puts them
            // again (a put replaces the sample's whole state).
            let (ctx, matcher, wake) = (ctx.clone(), matcher.clone(), wake.clone());
            messaging::Task::new("matcher", move || {
                jobs::matcher(ctx.clone(), matcher.clone(), wake.clone())
            })
        },
        {
            let ctx = ctx.clone();
            messaging::Task::new("roster change log pruning", move || {
                jobs::prune_changes(ctx.clone(), matcher.clone())
            })
        },
    ];
    Ok(service::assemble(
        &ctx,
        routes::routes(App {
            ctx: ctx.clone(),
            wake,
            matcher: roster_of,
        }),
        vec![on_requested, on_hired, on_closed],
        tasks,
    ))
}
