//! Mail requested by other contexts through their outboxes: stored like an API submission,
//! the producing context being the sender (so its idempotency keys are its own).

use std::sync::Arc;

use async_trait::async_trait;
use contracts::Envelope;
use contracts::iam::MailRequested;
use messaging::{Handler, HandlerError};
use storage::Tx;
use tokio::sync::Notify;

use crate::error::MailError;
use crate::routes::compose;
use crate::store;

/// The consumer's durable name.
pub const ON_IAM_MAIL: &str = "mail.on-iam-mail-requested";

pub struct OnMailRequested {
    pub wake: Arc<Notify>,
}

#[async_trait]
impl Handler for OnMailRequested {
    async fn handle(&self, tx: &mut Tx, event: &Envelope) -> Result<(), HandlerError> {
        let requested: MailRequested = event.decode()?;
        let r = &requested.request;
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
        store::insert(tx, &message).await?;
        self.wake.notify_one();
        Ok(())
    }
}
