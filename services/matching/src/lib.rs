//! Matching: picks a worker (normal sample) for every order (reference sample) through a
//! configurable pipeline of steps, prices it, and publishes the assignment.

pub mod domain;
mod error;
pub mod events;
pub mod external;
pub mod matcher;
pub mod profiles;
mod routes;
pub mod store;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use contracts::Event;
use contracts::ordering::{OrderCompleted, OrderRequested};
use service::{Context, ServiceSpec};
use tokio::sync::Notify;

pub use domain::pipeline::{MatchingConfig, Pipeline, PipelineError, StepConfig};
pub use error::MatchingError;
pub use matcher::Matcher;

/// The context's name (bus stream, URL prefix, database name).
pub const NAME: &str = "matching";

/// Matching as the binary registers it.
/// The pipeline must build from the section: unknown steps, bad weights or URLs are
/// refused at load time, naming the key.
impl service::Section for MatchingConfig {
    fn validate(&self) -> anyhow::Result<()> {
        Pipeline::from_config(self)?;
        Ok(())
    }
}

pub const SPEC: ServiceSpec = ServiceSpec {
    name: NAME,
    migrations,
    config: service::SectionSpec::of::<MatchingConfig>(include_str!("../config.toml")),
    build: |ctx| Box::pin(async move { build(ctx) }),
};

/// Matching's own migrations (the messaging tables come separately).
pub fn migrations() -> storage::Migrations {
    storage::Migrations::new(
        sqlx::migrate!("migrations/sqlite"),
        sqlx::migrate!("migrations/postgres"),
    )
}

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct App {
    rt: Context,
    /// Wakes the background matcher (a worker registered or changed).
    wake: Arc<Notify>,
}

/// Builds the service: routes, relay, the consumers and the waiting-order matcher.
///
/// `[matching]` is its section (the pipeline's steps).
pub fn build(ctx: Context) -> anyhow::Result<service::Service> {
    let config: MatchingConfig = ctx.config()?;
    let matcher = Arc::new(Matcher::new(Arc::new(Pipeline::from_config(&config)?)));
    let wake = Arc::new(Notify::new());
    let on_requested = ctx.consumer(
        events::ON_ORDER_REQUESTED,
        Arc::new(events::OnOrderRequested {
            matcher: matcher.clone(),
            wake: wake.clone(),
        }),
    );
    let on_hired = ctx.consumer(
        events::ON_WORKER_HIRED,
        Arc::new(events::OnWorkerHired { wake: wake.clone() }),
    );
    let on_closed = ctx.consumer(events::ON_ORDER_CLOSED, Arc::new(events::OnOrderClosed));
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
            let (ctx, wake) = (ctx.clone(), wake.clone());
            messaging::Task::new("matcher", move || {
                matcher::run(ctx.clone(), matcher.clone(), wake.clone())
            })
        },
    ];
    Ok(service::assemble(
        &ctx,
        routes::router(App {
            rt: ctx.clone(),
            wake,
        }),
        vec![on_requested, on_hired, on_closed],
        tasks,
    ))
}
