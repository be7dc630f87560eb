//! What Billing does when other contexts publish: decode, then the use case. IAM's accounts
//! and Hiring's hires open payment accounts; Ordering's activations, completions and
//! failures move money.

use async_trait::async_trait;
use contracts::hiring::WorkerHired;
use contracts::iam::{AccountChanged, AccountCreated};
use contracts::ordering::{OrderActivated, OrderCompleted, OrderFailed};
use contracts::{Envelope, Event};
use messaging::{Handler, HandlerError, Work};

use crate::error::BillingError;
use crate::store::Holder;
use crate::{App, app};

/// The consumer of IAM's account events.
pub const ON_ACCOUNT: &str = "billing.on-account";
/// The consumer of Hiring's hires.
pub const ON_HIRED: &str = "billing.on-hired";
/// The consumer of Ordering's order events that move money.
pub const ON_ORDER: &str = "billing.on-order";

/// The order events [`OnOrder`] books.
pub const ORDER_EVENTS: [&str; 3] = [
    OrderActivated::TYPE,
    OrderCompleted::TYPE,
    OrderFailed::TYPE,
];

/// A use case's failure as the consumer reports it: infrastructure is retried, a refusal
/// (an event that cannot be booked) would fail the same way again.
fn failed(e: BillingError) -> HandlerError {
    match e {
        BillingError::Unexpected(e) => HandlerError::from(e.into_anyhow()),
        refusal => HandlerError::Rejected(refusal.to_string()),
    }
}

/// IAM created or changed an account: its client, worker and manager roles get payment
/// accounts.
pub struct OnAccount {
    pub app: App,
}

#[async_trait]
impl Handler for OnAccount {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let (id, roles, name, email) = if event.is::<AccountCreated>() {
            let a: AccountCreated = event.decode()?;
            (a.account_id, a.roles, a.name, a.email)
        } else {
            let a: AccountChanged = event.decode()?;
            (a.account_id, a.roles, a.name, a.email)
        };
        let holder = Holder {
            name,
            email,
            version: event.aggregate_version,
        };
        app::remember_account(&self.app, work, id, &roles, &holder)
            .await
            .map_err(failed)
    }
}

/// Hiring hired a worker: the worker's payment account.
pub struct OnHired {
    pub app: App,
}

#[async_trait]
impl Handler for OnHired {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let hired: WorkerHired = event.decode()?;
        app::open_worker_account(&self.app, work, &hired)
            .await
            .map_err(failed)
    }
}

/// An order became active, was completed or failed: the client's charge, the worker's
/// share, the worker's penalty.
pub struct OnOrder {
    pub app: App,
}

#[async_trait]
impl Handler for OnOrder {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let app = &self.app;
        if event.is::<OrderActivated>() {
            app::charge_activated(app, work, event, &event.decode()?)
                .await
                .map_err(failed)?;
        } else if event.is::<OrderCompleted>() {
            app::credit_completed(app, work, event, &event.decode()?)
                .await
                .map_err(failed)?;
        } else if event.is::<OrderFailed>() {
            app::penalize_failed(app, work, event, &event.decode()?)
                .await
                .map_err(failed)?;
        }
        Ok(())
    }
}
