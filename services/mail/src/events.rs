//! Mail requested by other contexts through their outboxes: stored like an API submission,
//! the producing context being the sender (so its idempotency keys are its own).

use async_trait::async_trait;
use contracts::iam::{AccountChanged, AccountCreated, MailRequest};
use contracts::{Envelope, Event};
use messaging::{Handler, HandlerError, Work};

use crate::error::MailError;
use crate::{App, app, domain::Request};

/// The `<context>.mail.requested` commands Mail accepts, all carrying a [`MailRequest`]:
/// (consumer durable name, producing context, event type), a consumer per producing
/// context (a stream each).
pub const REQUEST_TYPES: &[(&str, &str, &str)] = &[
    (
        "mail.on-iam-mail-requested",
        contracts::iam::MailRequested::SOURCE,
        contracts::iam::MailRequested::TYPE,
    ),
    (
        "mail.on-hiring-mail-requested",
        contracts::hiring::MailRequested::SOURCE,
        contracts::hiring::MailRequested::TYPE,
    ),
    (
        "mail.on-ordering-mail-requested",
        contracts::ordering::MailRequested::SOURCE,
        contracts::ordering::MailRequested::TYPE,
    ),
    (
        "mail.on-inventory-mail-requested",
        contracts::inventory::MailRequested::SOURCE,
        contracts::inventory::MailRequested::TYPE,
    ),
    (
        "mail.on-billing-mail-requested",
        contracts::billing::MailRequested::SOURCE,
        contracts::billing::MailRequested::TYPE,
    ),
];

/// Stores each requested message ([`app::submit::by_event`]) and wakes the deliverer.
pub struct OnMailRequested {
    pub app: App,
}

#[async_trait]
impl Handler for OnMailRequested {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        if !REQUEST_TYPES.iter().any(|(_, _, t)| *t == event.event_type) || event.version != 1 {
            return Err(HandlerError::Rejected(format!(
                "not a mail request: {} v{}",
                event.event_type, event.version
            )));
        }
        let r: MailRequest = serde_json::from_value(event.data["request"].clone())
            .map_err(|e| HandlerError::Rejected(format!("request: {e}")))?;
        let request = Request {
            to: &r.to,
            template: &r.template,
            variables: &r.variables,
            idempotency_key: &r.idempotency_key,
            language: r.language.as_deref(),
        };
        app::submit::by_event(&self.app, work, &event.source, request)
            .await
            .map_err(|e| match e {
                // A request that can never render is parked for an operator, not retried.
                MailError::Refused(service::Refused::Invalid { field, message }) => {
                    HandlerError::Rejected(format!("{field}: {message}"))
                }
                other => HandlerError::Failed(anyhow::Error::new(other)),
            })?;
        self.app.wake.notify_one();
        Ok(())
    }
}

/// The consumer's durable name for IAM's account events.
pub const ON_ACCOUNT: &str = "mail.on-account";

/// IAM created or changed an account: keep its language by address, so mails other
/// contexts ask for without naming a language are written in the one the person chose.
pub struct OnAccount;

#[async_trait]
impl Handler for OnAccount {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let (email, language) = if event.is::<AccountCreated>() {
            let a: AccountCreated = event.decode()?;
            (a.email, a.language)
        } else {
            let a: AccountChanged = event.decode()?;
            (a.email, a.language)
        };
        app::submit::record_recipient(work, &email, language.as_deref(), event.aggregate_version)
            .await
            .map_err(|e| HandlerError::Failed(anyhow::Error::new(e)))
    }
}
