//! Hiring: managers' tests, the public application form, per-candidate test sets taken
//! through a private link, and the decision: accept (WorkerHired, with characteristics from
//! the results) or decline (the candidate is told by mail).

pub mod domain;
mod error;
mod events;
mod routes;
mod store;

use std::sync::Arc;

use contracts::Event;
use contracts::iam::{AccountChanged, AccountCreated};
use serde::{Deserialize, Serialize};
use service::{Context, ServiceSpec};

pub use error::HiringError;

/// The context's name.
pub const NAME: &str = "hiring";

/// Hiring as the binary registers it.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: NAME,
    migrations,
    config: service::SectionSpec::of::<HiringConfig>(include_str!("../config.toml")),
    build: |ctx| Box::pin(async move { build(ctx) }),
};

/// Hiring's own migrations.
pub fn migrations() -> storage::Migrations {
    storage::Migrations::new(
        sqlx::migrate!("migrations/sqlite"),
        sqlx::migrate!("migrations/postgres"),
    )
}

/// The `[hiring]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HiringConfig {
    /// How long a candidate's private test link works (hours).
    pub link_ttl_hours: i64,
    /// Hiring's public base URL for the links it mails (…/api/hiring). Empty: this
    /// process's own listener.
    pub public_url: String,
    /// Flood protection of the public endpoints (apply, take).
    pub public_limits: web::limits::PublicLimits,
}

impl Default for HiringConfig {
    fn default() -> Self {
        HiringConfig {
            link_ttl_hours: 168,
            public_url: String::new(),
            public_limits: web::limits::PublicLimits::default(),
        }
    }
}

impl service::Section for HiringConfig {
    fn validate(&self) -> anyhow::Result<()> {
        // Added to "now" when a link is made: bounded far from overflow.
        if !(1..=366 * 24).contains(&self.link_ttl_hours) {
            anyhow::bail!("hiring.link_ttl_hours: must be 1 to 8784 (a year)");
        }
        Ok(())
    }
}

/// Shared state of Hiring's handlers.
#[derive(Clone)]
pub struct App {
    rt: Context,
    config: HiringConfig,
    /// Hiring's public base URL (`http://host:port/api/hiring`), for the links it mails.
    public_url: String,
}

/// Builds the service from its context (`[hiring]` is its section).
pub fn build(ctx: Context) -> anyhow::Result<service::Service> {
    let config: HiringConfig = ctx.config()?;
    let app = App {
        rt: ctx.clone(),
        config,
        public_url: ctx.public_url.clone(),
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
    Ok(service::assemble(
        &ctx,
        routes::router(app),
        vec![on_account],
        tasks,
    ))
}
