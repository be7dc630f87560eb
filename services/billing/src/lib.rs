//! Billing: payment accounts for clients, workers and managers, and an append-only,
//! double-entry ledger of every movement of money, each with its reason, actor and cause.
//!
//! # Where the rules live
//! - [`domain::ledger`]: accounts (typed kinds), entries with ids derived from their
//!   cause, postings that sum to zero (refused otherwise). Balances are sums of postings.
//!   The database refuses UPDATE and DELETE on the ledger tables (triggers, both backends:
//!   `migrations/{sqlite,postgres}/*_append_only.sql`).
//! - [`domain::orders`]: an active order's charge less the loyalty discount (by what the
//!   client paid: collected invoices), a completed order's 60 % to its worker, a failed
//!   order's penalty to a worker at fault; the units and the rounding rules.
//! - [`domain::period`]: the billing calendar (week ending Sunday, month ending on its last
//!   day, in `billing.week_time_zone`), boundaries as UTC instants, a key per period.
//! - [`domain::invoice`]: the cycles' invoices (a client's week collected, a worker's month
//!   paid out or carried over), their statuses, retries and the entry that books them;
//!   `app/cycles.rs` runs each ended period once (a claimed `cycle_runs` row, catch-up after
//!   downtime), `app/settle.rs` asks the bank outside any unit of work (intent, call,
//!   result; a lost answer is settled from the bank's statement), `bank/` is the bank's
//!   client, `jobs.rs` the loop.
//! - `app/post.rs`: the one way money moves: a balanced entry appended in a unit of work,
//!   idempotently by its id (a replay is a no-op).
//! - `app/`: one file per use case (load -> decide -> save -> publish -> commit).
//! - `routes/`: one file per resource: DTOs, access, bodies.
//! - `events.rs`: IAM's accounts and Hiring's hires (payment accounts), Ordering's
//!   activations, completions and failures (charges, earnings, penalties).
//! - `store/`: SQL only.
//! - [`client::BillingClient`]: the typed client of this API.

mod app;
mod bank;
pub mod client;
mod config;
pub mod domain;
mod error;
pub mod events;
mod jobs;
mod routes;
mod store;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use contracts::Event;
use contracts::hiring::WorkerHired;
use contracts::iam::{AccountChanged, AccountCreated};
use contracts::ordering::OrderActivated;
use service::Context;

pub use app::{BalanceLine, Posted, Statement, StatementLine, Summary, TrialBalance, Upcoming};
pub use config::BillingConfig;
pub use error::BillingError;

service::spec! {
    /// Billing as the binary registers it.
    name: "billing",
    config: BillingConfig,
    build: build,
}

/// Shared state of Billing's handlers, use cases and consumers.
#[derive(Clone)]
pub struct App {
    ctx: Context,
    config: Arc<BillingConfig>,
    /// The billing calendar's zone (`billing.week_time_zone`, checked at start).
    zone: domain::Zone,
    /// The bank invoices are collected and paid out through (`billing.bank_url`).
    bank: Arc<bank::Bank>,
}

impl App {
    /// The state of a service built from `ctx` with `config`.
    pub fn new(ctx: Context, config: BillingConfig) -> anyhow::Result<App> {
        Ok(App {
            zone: config.zone()?,
            bank: Arc::new(bank::Bank::new(&config)?),
            ctx,
            config: Arc::new(config),
        })
    }
}

/// Builds the service from its context (`[billing]` is its section): its routes, the
/// outbox relay, and the consumers of the events that move money or open accounts.
pub fn build(ctx: Context) -> anyhow::Result<service::Service> {
    let config: BillingConfig = ctx.config()?;
    let app = App::new(ctx.clone(), config)?;
    let on_account = ctx.consumer(
        events::ON_ACCOUNT,
        Arc::new(events::OnAccount { app: app.clone() }),
    );
    let on_hired = ctx.consumer(
        events::ON_HIRED,
        Arc::new(events::OnHired { app: app.clone() }),
    );
    let on_order = ctx.consumer(
        events::ON_ORDER,
        Arc::new(events::OnOrder { app: app.clone() }),
    );
    let tasks = vec![
        ctx.relay_task(),
        ctx.consumer_task(
            AccountCreated::SOURCE,
            &[AccountCreated::TYPE, AccountChanged::TYPE],
            on_account.clone(),
        ),
        ctx.consumer_task(WorkerHired::SOURCE, &[WorkerHired::TYPE], on_hired.clone()),
        ctx.consumer_task(
            OrderActivated::SOURCE,
            &events::ORDER_EVENTS,
            on_order.clone(),
        ),
        jobs::cycles(app.clone()),
    ];
    let routes = routes::routes().with_state(app);
    Ok(service::assemble(
        &ctx,
        routes,
        vec![on_account, on_hired, on_order],
        tasks,
    ))
}
