//! Ordering: the service-type catalog and orders through their whole life — requested,
//! active, in progress, completed, or canceled / failed and rebooked.
//!
//! Where the rules live: `domain/order.rs` (the state machine: cancel, check-in window,
//! completion, no-show, rebook), `domain/service_type.rs` (the catalog), `app/` (one file
//! per use case, each one unit of work: `app/change_order.rs` moves an order,
//! `app/fail_overdue_orders.rs` fails the no-shows, `app/notify.rs` mails clients),
//! `events.rs` (what Ordering does when Matching or IAM publish), `jobs.rs` (the no-show
//! sweep), `routes/` (HTTP and who may call it), `store/` (SQL), `client.rs` (the typed
//! client of this API).

mod app;
pub mod client;
mod config;
pub mod domain;
mod error;
pub mod events;
mod jobs;
mod routes;
mod store;
#[cfg(test)]
// Tests take "now" from the machine where any instant will do.
#[allow(clippy::disallowed_methods)]
mod tests;

use std::sync::Arc;

use contracts::Event;
use contracts::iam::{AccountChanged, AccountCreated};
use contracts::inventory::KitIssued;
use contracts::matching::WorkerAssigned;
use service::Context;

pub use config::OrderingConfig;
pub use error::OrderingError;

service::spec! {
    /// Ordering as the binary registers it.
    name: "ordering",
    config: OrderingConfig,
    build: build,
}

/// Shared state of the HTTP handlers, the use cases and the loops.
#[derive(Clone)]
pub struct App {
    ctx: Context,
    config: Arc<OrderingConfig>,
    /// Photos (check-in, report).
    objects: storage::Objects,
}

/// Builds the service: routes, the outbox relay, the consumers and the no-show sweep.
///
/// `[ordering]` is its section; photos go where `objects_url` says, by default
/// `<data dir>/objects/ordering`.
pub fn build(ctx: Context) -> anyhow::Result<service::Service> {
    let config: OrderingConfig = ctx.config()?;
    let objects = storage::Objects::open(&config.objects_url, &ctx.objects_dir())
        .map_err(|e| anyhow::anyhow!("ordering.objects_url: {e}"))?;
    tracing::info!(location = objects.location(), "ordering keeps photos here");
    let app = App {
        ctx: ctx.clone(),
        config: Arc::new(config),
        objects,
    };
    let on_assignment = ctx.consumer(
        events::ON_ASSIGNMENT,
        Arc::new(events::OnWorkerAssigned {
            clock: ctx.clock.clone(),
        }),
    );
    let on_account = ctx.consumer(events::ON_ACCOUNT, Arc::new(events::OnAccount));
    let on_kit_issued = ctx.consumer(events::ON_KIT_ISSUED, Arc::new(events::OnKitIssued));
    let tasks = vec![
        ctx.relay_task(),
        ctx.consumer_task(
            WorkerAssigned::SOURCE,
            &[WorkerAssigned::TYPE],
            on_assignment.clone(),
        ),
        ctx.consumer_task(
            AccountCreated::SOURCE,
            &[AccountCreated::TYPE, AccountChanged::TYPE],
            on_account.clone(),
        ),
        ctx.consumer_task(KitIssued::SOURCE, &[KitIssued::TYPE], on_kit_issued.clone()),
        {
            let app = app.clone();
            messaging::Task::new("no-show sweep", move || jobs::no_show_sweep(app.clone()))
        },
    ];
    Ok(service::assemble(
        &ctx,
        routes::routes(app),
        vec![on_assignment, on_account, on_kit_issued],
        tasks,
    ))
}
