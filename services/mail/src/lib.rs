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

use messaging::Runtime;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

pub use error::MailError;

/// The context's name.
pub const NAME: &str = "mail";

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
    rt: Runtime,
    wake: Arc<Notify>,
}

/// Builds the service: API, deliverer, relay.
pub fn build(
    rt: Runtime,
    config: &MailConfig,
    verifier: Arc<auth::Verifier>,
) -> anyhow::Result<web::Service> {
    let wake = Arc::new(Notify::new());
    // Checked once here so a bad `[mail]` section stops the start; every (re)start of the
    // deliverer task then builds its own.
    deliver::Deliverer::new(rt.clone(), config.clone(), wake.clone())?;
    let deliverer = {
        let (rt, config, wake) = (rt.clone(), config.clone(), wake.clone());
        messaging::Task::new("deliverer", move || {
            let deliverer = deliver::Deliverer::new(rt.clone(), config.clone(), wake.clone());
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
        .map(|(name, _, _)| rt.consumer(name, handler.clone()))
        .collect();
    let mut tasks = vec![rt.relay_task(), deliverer];
    for ((_, source, event_type), consumer) in events::REQUEST_TYPES.iter().zip(&consumers) {
        tasks.push(rt.consumer_task(source, &[event_type], consumer.clone()));
    }
    let app = App {
        rt: rt.clone(),
        wake,
    };
    Ok(auth::assemble(
        NAME,
        routes::router(app),
        rt.db.clone(),
        consumers,
        verifier,
        tasks,
    ))
}
