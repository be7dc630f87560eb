//! What Inventory does when other contexts publish: decode, then the use case.

use async_trait::async_trait;
use contracts::Envelope;
use contracts::ordering::OrderActivated;
use messaging::{Handler, HandlerError, Work};

use crate::error::InventoryError;
use crate::{App, app};

/// The consumer's durable name.
pub const ON_ACTIVATED: &str = "inventory.on-activated";

/// An order became active: assemble its supply kit.
pub struct OnOrderActivated {
    pub app: App,
}

#[async_trait]
impl Handler for OnOrderActivated {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let activated: OrderActivated = event.decode()?;
        app::assemble_kit(&self.app, work, &activated)
            .await
            .map_err(|e| match e {
                InventoryError::Unexpected(e) => HandlerError::from(e.into_anyhow()),
                // Assembling refuses nothing today; were it to, retrying would not help.
                refusal => HandlerError::Rejected(refusal.to_string()),
            })?;
        Ok(())
    }
}
