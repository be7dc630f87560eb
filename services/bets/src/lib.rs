//! Bets: managers bet their own money on how active orders end (completed, failed or
//! canceled); the winners share the whole pool, exactly to the unit, through Billing.
//!
//! # Where the rules live
//! - [`domain::bet`]: a bet opens on an order Ordering says is active or in progress (one
//!   per order); stakes are taken until the order leaves active / in progress or the
//!   manager's cut-off passes; it closes once the order is final.
//! - [`domain::stake`]: a stake is pending until Billing answers its charge: confirmed, it
//!   is in the pool; refused, it never is.
//! - [`domain::settlement`]: the pari-mutuel split and its written remainder rule (floors,
//!   then one unit each to the largest remainders, ties to the earliest stake); nobody
//!   won, the pool goes to the developers' fund.
//! - `app/`: one file per use case; `app/calls.rs` and `app/billing.rs` are the calls to
//!   Ordering and Billing (service token, timeout, retries with doubling backoff, the
//!   stake's or payout's id as Idempotency-Key), always outside a transaction: a pending
//!   stake or an unbooked payout is recorded first and finished by the same call again.
//! - `routes/`: one file per resource (bets, stakes): DTOs, access, bodies.
//! - `jobs.rs`: the sweep: stakes left pending, bets left settling.
//! - `store/`: SQL only.
//! - [`client::BetsClient`]: the typed client of this API.
//!
//! Only managers bet, open and close; admins may read.

mod app;
pub mod client;
mod config;
pub mod domain;
mod error;
mod jobs;
mod routes;
mod store;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use service::Context;

pub use app::{BetView, NewBet};
pub use config::BetsConfig;
pub use error::BetsError;
pub use routes::BetQuery;

service::spec! {
    /// Bets as the binary registers it.
    name: "bets",
    config: BetsConfig,
    build: build,
}

/// Shared state of Bets' handlers, use cases and the sweep.
#[derive(Clone)]
pub struct App {
    ctx: Context,
    config: Arc<BetsConfig>,
}

/// Builds the service from its context (`[bets]` is its section): its routes, the outbox
/// relay and the sweep. It consumes no events: what it needs from Ordering it asks.
pub fn build(ctx: Context) -> anyhow::Result<service::Service> {
    let config: BetsConfig = ctx.config()?;
    let app = App {
        ctx: ctx.clone(),
        config: Arc::new(config),
    };
    let tasks = vec![ctx.relay_task(), jobs::sweep(app.clone())];
    let routes = routes::routes().with_state(app);
    Ok(service::assemble(&ctx, routes, vec![], tasks))
}
