//! Ordering: the service-type catalog and orders through their whole life — requested,
//! active, in progress, completed, or canceled / failed and rebooked.
//!
//! Where the rules live: `domain/order.rs` (the state machine: cancel, check-in window,
//! completion, no-show, rebook), `domain/service_type.rs` (the catalog), `noshow.rs` (the
//! sweep that fails overdue orders), `notify.rs` (mails to clients), `events.rs` (what
//! Ordering does when Matching or IAM publish), `routes/` (HTTP and who may call it).

pub mod domain;
mod error;
pub mod events;
mod noshow;
mod notify;
mod routes;
mod store;

use std::sync::Arc;

use contracts::Event;
use contracts::iam::{AccountChanged, AccountCreated};
use contracts::matching::WorkerAssigned;
use serde::{Deserialize, Serialize};
use service::{Context, ServiceSpec};

pub use error::OrderingError;

/// The context's name (bus stream, URL prefix, database name).
pub const NAME: &str = "ordering";

/// Ordering as the binary registers it.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: NAME,
    migrations,
    config: service::SectionSpec::of::<OrderingConfig>(include_str!("../config.toml")),
    build: |ctx| Box::pin(async move { build(ctx) }),
};

/// Ordering's own migrations (the messaging tables come separately).
pub fn migrations() -> storage::Migrations {
    storage::Migrations::new(
        sqlx::migrate!("migrations/sqlite"),
        sqlx::migrate!("migrations/postgres"),
    )
}

/// The `[ordering]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrderingConfig {
    /// How long before the scheduled time a worker may check in (minutes).
    pub check_in_early_minutes: i64,
    /// How long after the scheduled time check-in stays open; then the order fails as a
    /// no-show (minutes).
    pub no_show_grace_minutes: i64,
    /// How often each replica looks for overdue orders (ms).
    pub no_show_sweep_ms: u64,
    /// Largest check-in or report photo accepted (bytes, before base64).
    pub photo_max_bytes: usize,
    /// Where photos are kept: empty = `<data dir>/objects/ordering`; a directory path;
    /// `s3://bucket?endpoint=...&region=...` for an S3-compatible store.
    pub objects_url: String,
    /// Ordering's public base URL for the links it mails (…/api/ordering). Empty: this
    /// process's own listener.
    pub public_url: String,
}

impl Default for OrderingConfig {
    fn default() -> Self {
        OrderingConfig {
            check_in_early_minutes: 30,
            no_show_grace_minutes: 30,
            no_show_sweep_ms: 1000,
            photo_max_bytes: 512 * 1024,
            objects_url: String::new(),
            public_url: String::new(),
        }
    }
}

impl service::Section for OrderingConfig {
    fn validate(&self) -> anyhow::Result<()> {
        if !(0..=24 * 60).contains(&self.check_in_early_minutes) {
            anyhow::bail!("ordering.check_in_early_minutes: must be 0 to 1440");
        }
        if !(0..=24 * 60).contains(&self.no_show_grace_minutes) {
            anyhow::bail!("ordering.no_show_grace_minutes: must be 0 to 1440");
        }
        if self.no_show_sweep_ms == 0 {
            anyhow::bail!("ordering.no_show_sweep_ms: must be positive");
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.photo_max_bytes) {
            anyhow::bail!("ordering.photo_max_bytes: must be 1 KiB to 16 MiB");
        }
        Ok(())
    }
}

impl OrderingConfig {
    /// The lifecycle's time rules.
    pub fn policy(&self) -> domain::order::Policy {
        domain::order::Policy {
            check_in_early: chrono::Duration::minutes(self.check_in_early_minutes),
            grace: chrono::Duration::minutes(self.no_show_grace_minutes),
        }
    }
}

/// Shared state of the HTTP handlers and tasks.
#[derive(Clone)]
pub struct App {
    rt: Context,
    config: Arc<OrderingConfig>,
    /// Photos (check-in, report).
    objects: storage::Objects,
    /// Ordering's public base URL (`http://host:port/api/ordering`), for mailed links.
    public_url: String,
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
        rt: ctx.clone(),
        config: Arc::new(config),
        objects,
        public_url: ctx.public_url.clone(),
    };
    let on_assignment = ctx.consumer(
        events::ON_ASSIGNMENT,
        Arc::new(events::OnWorkerAssigned {
            clock: ctx.clock.clone(),
        }),
    );
    let on_account = ctx.consumer(events::ON_ACCOUNT, Arc::new(events::OnAccount));
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
        {
            let app = app.clone();
            messaging::Task::new("no-show sweep", move || noshow::run(app.clone()))
        },
    ];
    Ok(service::assemble(
        &ctx,
        routes::router(app),
        vec![on_assignment, on_account],
        tasks,
    ))
}
