//! Mail requested by other contexts through their outboxes: stored like an API submission,
//! the producing context being the sender (so its idempotency keys are its own).

use std::sync::Arc;

use async_trait::async_trait;
use contracts::iam::MailRequest;
use contracts::{Envelope, Event};
use messaging::{Handler, HandlerError, Work};
use tokio::sync::Notify;

use crate::error::MailError;
use crate::routes::compose;
use crate::store;

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
];

pub struct OnMailRequested {
    pub wake: Arc<Notify>,
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
        let message = compose(
            &event.source,
            &r.to,
            &r.template,
            &r.variables,
            &r.idempotency_key,
        )
        .map_err(|e| match e {
            // A request that can never render is parked for an operator, not retried.
            MailError::Invalid { field, message } => {
                HandlerError::Rejected(format!("{field}: {message}"))
            }
            other => HandlerError::Failed(anyhow::anyhow!(other.to_string())),
        })?;
        // A repeated key (the same request again) stores nothing new.
        store::insert(work, &message).await?;
        self.wake.notify_one();
        Ok(())
    }
}
