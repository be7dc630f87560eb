//! Mail: every notification goes through here. A message is rendered from one of Mail's
//! templates and stored at submission (idempotent per sender and key), then the deliverer
//! sends it over SMTP — or, with no SMTP server configured, writes it as an `.eml` file —
//! with retries and backoff, until it is sent or, after `max_attempts`, dead (an operator
//! can retry it).

mod deliver;
mod error;
pub mod events;
mod routes;
mod store;
pub mod templates;

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use service::{Context, ServiceSpec};
use tokio::sync::Notify;

pub use error::MailError;

/// The context's name.
pub const NAME: &str = "mail";

/// Mail as the binary registers it.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: NAME,
    migrations,
    config: service::SectionSpec::of::<MailConfig>(include_str!("../config.toml")),
    build: |ctx| Box::pin(async move { build(ctx) }),
};

/// Mail's own migrations.
pub fn migrations() -> storage::Migrations {
    storage::Migrations::new(
        sqlx::migrate!("migrations/sqlite"),
        sqlx::migrate!("migrations/postgres"),
    )
}

/// The `[mail]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// The From header.
    pub from: String,
    /// `smtp://host:port` (plain), `smtp://host:port?tls=required` or `smtps://host:port`.
    /// Empty: messages are written as .eml files to `file_dir`.
    pub smtp_url: String,
    /// Where .eml files go without SMTP. Empty: `<embedded.data_dir>/mail`.
    pub file_dir: PathBuf,
    /// Attempts before a message is dead.
    pub max_attempts: i64,
    /// First retry delay (ms), doubling up to `backoff_max_ms`.
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
    /// How long one SMTP delivery may take (s).
    pub smtp_timeout_s: u64,
}

impl service::Section for MailConfig {}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            from: "MCF <no-reply@mcf.local>".into(),
            smtp_url: String::new(),
            file_dir: PathBuf::new(),
            max_attempts: 8,
            backoff_initial_ms: 1000,
            backoff_max_ms: 300_000,
            smtp_timeout_s: 10,
        }
    }
}

/// Shared state of Mail's handlers.
#[derive(Clone)]
pub struct App {
    rt: Context,
    wake: Arc<Notify>,
}

/// Builds the service: API, deliverer, relay (`[mail]` is its section; without a
/// `file_dir`, mails go to `<data dir>/mail`).
pub fn build(ctx: Context) -> anyhow::Result<service::Service> {
    let mut config: MailConfig = ctx.config()?;
    if config.file_dir.as_os_str().is_empty() {
        config.file_dir = ctx.data_dir.join("mail");
    }
    let wake = Arc::new(Notify::new());
    // Checked once here so a bad `[mail]` section stops the start; every (re)start of the
    // deliverer task then builds its own.
    deliver::Deliverer::new(ctx.clone(), config.clone(), wake.clone())?;
    let deliverer = {
        let (ctx, config, wake) = (ctx.clone(), config.clone(), wake.clone());
        messaging::Task::new("deliverer", move || {
            let deliverer = deliver::Deliverer::new(ctx.clone(), config.clone(), wake.clone());
            async move {
                match deliverer {
                    Ok(d) => d.run().await,
                    // Ending early makes the supervisor retry later (e.g. the mail directory
                    // came back).
                    Err(e) => tracing::error!(error = %e, "mail deliverer cannot start"),
                }
            }
        })
    };
    let handler = Arc::new(events::OnMailRequested { wake: wake.clone() });
    let consumers: Vec<_> = events::REQUEST_TYPES
        .iter()
        .map(|(name, _, _)| ctx.consumer(name, handler.clone()))
        .collect();
    let mut tasks = vec![ctx.relay_task(), deliverer];
    for ((_, source, event_type), consumer) in events::REQUEST_TYPES.iter().zip(&consumers) {
        tasks.push(ctx.consumer_task(source, &[event_type], consumer.clone()));
    }
    let app = App {
        rt: ctx.clone(),
        wake,
    };
    Ok(service::assemble(
        &ctx,
        routes::router(app),
        consumers,
        tasks,
    ))
}
