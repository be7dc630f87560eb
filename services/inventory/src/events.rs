//! What Inventory does when other contexts publish: decode, then the use case. IAM's
//! accounts (who is supply staff), Ordering's activations (a kit per active order) and
//! cancels (the kit canceled, its consumables back).

use async_trait::async_trait;
use contracts::Envelope;
use contracts::iam::{AccountChanged, AccountCreated};
use contracts::ordering::{OrderActivated, OrderCanceled};
use messaging::{Handler, HandlerError, Work};

use crate::domain::Person;
use crate::error::InventoryError;
use crate::{App, app};

/// The consumer's durable name.
pub const ON_ACTIVATED: &str = "inventory.on-activated";

/// The account consumer's durable name.
pub const ON_ACCOUNT: &str = "inventory.on-account";

/// A use case's failure as the consumer reports it: infrastructure is retried, a refusal
/// would fail the same way again.
fn failed(e: InventoryError) -> HandlerError {
    match e {
        InventoryError::Unexpected(e) => HandlerError::from(e.into_anyhow()),
        refusal => HandlerError::Rejected(refusal.to_string()),
    }
}

/// IAM created or changed an account: keep who holds the `supply` role and is active.
pub struct OnAccount {
    pub app: App,
}

#[async_trait]
impl Handler for OnAccount {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let person = if event.event_type == <AccountCreated as contracts::Event>::TYPE {
            Person::created(&event.decode::<AccountCreated>()?)
        } else {
            Person::changed(&event.decode::<AccountChanged>()?)
        };
        app::remember_person(&self.app, work, &person, event.aggregate_version)
            .await
            .map_err(failed)
    }
}

/// An order became active: assemble its supply kit.
pub struct OnOrderActivated {
    pub app: App,
}

#[async_trait]
impl Handler for OnOrderActivated {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let activated: OrderActivated = event.decode()?;
        // Assembling refuses nothing today; were it to, retrying would not help.
        app::assemble_kit(&self.app, work, &activated)
            .await
            .map_err(failed)?;
        Ok(())
    }
}

/// The cancel consumer's durable name.
pub const ON_CANCELED: &str = "inventory.on-canceled";

/// An order was canceled: cancel its kit, put back what it took, call off its cookie.
pub struct OnOrderCanceled {
    pub app: App,
}

#[async_trait]
impl Handler for OnOrderCanceled {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let canceled: OrderCanceled = event.decode()?;
        match app::cancel_kit(&self.app, work, &canceled)
            .await
            .map_err(failed)?
        {
            app::KitCancel::NotYet => Err(HandlerError::NotYet(format!(
                "the kit of order {} is not here yet or changed meanwhile",
                canceled.order.order_id
            ))),
            app::KitCancel::Canceled(_) | app::KitCancel::Already | app::KitCancel::NoKit => Ok(()),
        }
    }
}
