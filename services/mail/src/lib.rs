//! Mail: every notification goes through here. A message is rendered from one of Mail's
//! templates and stored at submission (idempotent per sender and key), then the deliverer
//! sends it over SMTP — or, with no SMTP server configured, writes it as an `.eml` file —
//! with retries and backoff, until it is sent or, after `max_attempts`, dead (an operator
//! can retry it).
//!
//! # Where the rules live
//!
//! - What makes a message (address, key, template and its variables), when a repeated key
//!   is the same request, and what a failed attempt leaves (backoff, dead):
//!   [`domain::message`]. How a template becomes subject, text and HTML, safely:
//!   [`domain::templates`].
//! - The use cases, one file each: asking for a message by API or by event
//!   ([`app::submit`]), looking at messages ([`app::find`]), retrying a dead one
//!   ([`app::retry`]), and the deliverer's step ([`app::deliver`]: per-message claim, send,
//!   record).
//! - Who may call what: [`routes`]. Which contexts' requests are accepted: [`events`]. The
//!   delivery loop: `jobs.rs`. SMTP and `.eml` files (written once per message):
//!   `transport.rs`. SQL: `store/`.
//! - Callers use [`client::MailClient`].

pub mod app;
pub mod client;
mod config;
pub mod domain;
mod error;
pub mod events;
mod jobs;
pub mod routes;
mod store;
mod transport;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use contracts::Event;
use contracts::iam::{AccountChanged, AccountCreated};
use service::Context;
use tokio::sync::Notify;

pub use config::MailConfig;
pub use domain::templates;
pub use error::MailError;

service::spec! {
    /// Mail as the binary registers it.
    name: "mail",
    config: MailConfig,
    build: build,
}

/// Shared state of Mail's handlers, consumers and deliverer.
#[derive(Clone)]
pub struct App {
    ctx: Context,
    /// Wakes the deliverer: a message was queued.
    wake: Arc<Notify>,
}

/// Builds the service: API, deliverer, consumers, relay (`[mail]` is its section; without a
/// `file_dir`, mails go to `<data dir>/mail`).
pub fn build(ctx: Context) -> anyhow::Result<service::Service> {
    let mut config: MailConfig = ctx.config()?;
    if config.file_dir.as_os_str().is_empty() {
        config.file_dir = ctx.data_dir.join("mail");
    }
    // Checked once here so a bad `[mail]` section stops the start; every (re)start of the
    // deliverer then builds its own.
    transport::Transport::new(&config, ctx.clock.now().into())?;
    let app = App {
        ctx: ctx.clone(),
        wake: Arc::new(Notify::new()),
    };
    let handler = Arc::new(events::OnMailRequested { app: app.clone() });
    let consumers: Vec<_> = events::REQUEST_TYPES
        .iter()
        .map(|(name, _, _)| ctx.consumer(name, handler.clone()))
        .collect();
    let mut tasks = vec![ctx.relay_task(), jobs::deliverer(app.clone(), config)];
    for ((_, source, event_type), consumer) in events::REQUEST_TYPES.iter().zip(&consumers) {
        tasks.push(ctx.consumer_task(source, &[event_type], consumer.clone()));
    }
    let on_account = ctx.consumer(events::ON_ACCOUNT, Arc::new(events::OnAccount));
    tasks.push(ctx.consumer_task(
        AccountCreated::SOURCE,
        &[AccountCreated::TYPE, AccountChanged::TYPE],
        on_account.clone(),
    ));
    let mut consumers = consumers;
    consumers.push(on_account);
    Ok(service::assemble(
        &ctx,
        routes::routes().with_state(app),
        consumers,
        tasks,
    ))
}
