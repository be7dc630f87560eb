//! What Hiring does when other contexts publish.

use async_trait::async_trait;
use contracts::Envelope;
use contracts::iam::{AccountChanged, AccountCreated};
use messaging::{Handler, HandlerError, Work};

use crate::HiringError;

use crate::app;

/// The consumer's durable name.
pub const ON_ACCOUNT: &str = "hiring.on-account";

/// IAM created or changed an account: keep its id by e-mail, so a candidate who already
/// has an account (say, as a client) is hired under that id rather than a new one.
pub struct OnAccount;

#[async_trait]
impl Handler for OnAccount {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let (id, email) = if event.event_type == <AccountCreated as contracts::Event>::TYPE {
            let a: AccountCreated = event.decode()?;
            (a.account_id, a.email)
        } else {
            let a: AccountChanged = event.decode()?;
            (a.account_id, a.email)
        };
        app::record_account(work, id, &email, event.aggregate_version)
            .await
            .map_err(|e| match e {
                HiringError::Unexpected(e) => HandlerError::from(e.into_anyhow()),
                refusal => HandlerError::from(anyhow::Error::new(refusal)),
            })?;
        Ok(())
    }
}
