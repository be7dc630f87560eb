//! Hiring: managers' tests, the public application form, per-candidate test sets taken
//! through a private link, and the decision: accept (WorkerHired, with characteristics from
//! the results) or decline (the candidate is told by mail).
//!
//! # Where the rules live
//! - [`domain::application`]: the application's lifecycle as a state machine (open ->
//!   accepted | declined; tests assigned and taken while open), each move a pure function;
//!   what the form must contain; how results become characteristics.
//! - [`domain::test`]: what a test must contain, how answers are graded.
//! - `app/`: one file per use case (load -> decide -> save -> publish -> commit).
//! - `routes/`: one file per resource (tests, applications, take): DTOs, access, bodies.
//! - `events.rs`: IAM's accounts, kept by e-mail so a hire keeps one identity.
//! - `store/`: SQL only.
//! - [`client::HiringClient`]: the typed client of this API.

mod app;
pub mod client;
mod config;
pub mod domain;
mod error;
mod events;
mod routes;
mod store;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use contracts::Event;
use contracts::iam::{AccountChanged, AccountCreated};
use service::Context;

pub use app::Applied;
pub use config::HiringConfig;
pub use error::HiringError;
pub use routes::{
    Accepted, ApplicationDetail, ApplicationPage, Assigned, Decided, Decline, PageQuery, Recorded,
    TakePage, TakenTest, TestAnswers, TestSet, TokenQuery,
};
pub use store::Assignment;

service::spec! {
    /// Hiring as the binary registers it.
    name: "hiring",
    config: HiringConfig,
    build: build,
}

/// Shared state of Hiring's handlers and use cases.
#[derive(Clone)]
pub struct App {
    ctx: Context,
    config: HiringConfig,
}

impl App {
    /// The business clock's now, in unix microseconds (as the tables keep time).
    fn now(&self) -> i64 {
        self.ctx.clock.now().timestamp_micros()
    }
}

/// Builds the service from its context (`[hiring]` is its section).
pub fn build(ctx: Context) -> anyhow::Result<service::Service> {
    let config: HiringConfig = ctx.config()?;
    let app = App {
        ctx: ctx.clone(),
        config,
    };
    // The accounts IAM announces: whoever already has one is hired under its id.
    let on_account = ctx.consumer(events::ON_ACCOUNT, Arc::new(events::OnAccount));
    let tasks = vec![
        ctx.relay_task(),
        ctx.consumer_task(
            AccountCreated::SOURCE,
            &[AccountCreated::TYPE, AccountChanged::TYPE],
            on_account.clone(),
        ),
    ];
    let routes = routes::routes(&app).with_state(app);
    Ok(service::assemble(&ctx, routes, vec![on_account], tasks))
}
