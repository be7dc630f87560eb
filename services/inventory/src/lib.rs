//! Inventory (the supplies department): consumables in stock, bills of materials per
//! service type, and a supply kit for every active order that supply staff hand out.
//!
//! # Where the rules live
//! - [`domain::stock`]: consumables and the stock ledger: receipts add, issued kits take,
//!   the quantity on hand is always the sum of the moves (never stored on its own).
//! - [`domain::bom`]: what a bill of materials may contain.
//! - [`domain::kit`]: a kit assembled from its service type's bill when its order becomes
//!   active; issued only while stock covers every line, taking the consumables by moves
//!   and announcing `inventory.kit.issued`.
//! - `app/`: one file per use case (load -> decide -> save -> publish -> commit).
//! - `routes/`: one file per resource (consumables, boms, kits): DTOs, access, bodies.
//! - [`domain::staff`]: the supply staff known from IAM's account events, and the
//!   responsible supply employee of a new kit: the active `supply` holder with the fewest
//!   kits not yet issued (ties: the smaller id), the choice explained on the kit.
//! - `events.rs`: Ordering's `order.activated`, which assembles the kit, and
//!   `order.canceled`, which cancels it; IAM's `account.created` / `account.changed`,
//!   which keep the supply staff.
//! - [`domain::cancel`]: a canceled order's kit: canceled, what it took back in stock by
//!   `return` moves, its cookie to be called off.
//! - [`form`]: the job acceptance form of a kit's order, a printable PDF (the order's
//!   facts, its id as text and QR code, the client's signature box).
//! - `app/notify.rs`: mails to supply staff (a kit to assemble, to its responsible
//!   employee; a consumable fallen below its mark, once per fall, to every one).
//! - [`domain::cookie`]: the kit's fortune cookie (to order -> ordered -> arrived, or
//!   failed with the reason and ordered again by staff); [`domain::kit`]'s `stage` puts an
//!   open kit in the queue: to assemble (stock short), waiting for the cookie, ready.
//! - [`contractor`]: the cookie contractor's client (timeout, retries with backoff on the
//!   same key, circuit breaker, callback signatures); `jobs.rs` orders cookies outside any
//!   unit of work and asks about those whose callback did not come.
//! - `store/`: SQL only.
//! - [`client::InventoryClient`]: the typed client of this API.
//!
//! Supply staff are the `supply` role; managers and admins may do what they do.

mod app;
pub mod client;
mod config;
pub mod contractor;
pub mod domain;
mod error;
pub mod events;
pub mod form;
mod jobs;
mod routes;
mod store;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use contracts::Event;
use contracts::iam::{AccountChanged, AccountCreated};
use contracts::ordering::{OrderActivated, OrderCanceled};
use service::Context;

pub use app::KitView;
pub use config::InventoryConfig;
pub use error::InventoryError;
pub use routes::{ContractorView, KitQuery};

service::spec! {
    /// Inventory as the binary registers it.
    name: "inventory",
    config: InventoryConfig,
    build: build,
}

/// Shared state of Inventory's handlers, use cases and consumers.
#[derive(Clone)]
pub struct App {
    ctx: Context,
    config: Arc<InventoryConfig>,
    /// The fortune-cookie contractor's client (its breaker is shared by the job and the
    /// admins' view).
    contractor: Arc<contractor::Contractor>,
}

impl App {
    /// The state of a service built from `ctx` with `config`.
    pub fn new(ctx: Context, config: InventoryConfig) -> anyhow::Result<App> {
        Ok(App {
            contractor: Arc::new(contractor::Contractor::new(&config)?),
            ctx,
            config: Arc::new(config),
        })
    }
}

/// Builds the service from its context (`[inventory]` is its section): its routes, the
/// outbox relay, and the consumers of IAM's accounts and Ordering's activations.
pub fn build(ctx: Context) -> anyhow::Result<service::Service> {
    let config: InventoryConfig = ctx.config()?;
    let app = App::new(ctx.clone(), config)?;
    let on_activated = ctx.consumer(
        events::ON_ACTIVATED,
        Arc::new(events::OnOrderActivated { app: app.clone() }),
    );
    let on_canceled = ctx.consumer(
        events::ON_CANCELED,
        Arc::new(events::OnOrderCanceled { app: app.clone() }),
    );
    let on_account = ctx.consumer(
        events::ON_ACCOUNT,
        Arc::new(events::OnAccount { app: app.clone() }),
    );
    let tasks = vec![
        ctx.relay_task(),
        jobs::cookies(app.clone()),
        ctx.consumer_task(
            AccountCreated::SOURCE,
            &[AccountCreated::TYPE, AccountChanged::TYPE],
            on_account.clone(),
        ),
        ctx.consumer_task(
            OrderActivated::SOURCE,
            &[OrderActivated::TYPE],
            on_activated.clone(),
        ),
        ctx.consumer_task(
            OrderCanceled::SOURCE,
            &[OrderCanceled::TYPE],
            on_canceled.clone(),
        ),
    ];
    let routes = routes::routes().with_state(app);
    Ok(service::assemble(
        &ctx,
        routes,
        vec![on_account, on_activated, on_canceled],
        tasks,
    ))
}
