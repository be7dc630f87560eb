//! What Ordering does when other contexts publish: decode, then the use case. Matching's
//! assignments, IAM's accounts, Inventory's issued kits.

use async_trait::async_trait;
use contracts::Envelope;
use contracts::iam::{AccountChanged, AccountCreated};
use contracts::inventory::KitIssued;
use contracts::matching::WorkerAssigned;
use messaging::{Handler, HandlerError, Work};

use crate::app::{self, Activation};
use crate::error::OrderingError;
use crate::store::Person;

/// The consumer's durable name.
pub const ON_ASSIGNMENT: &str = "ordering.on-assignment";

fn failed(e: OrderingError) -> HandlerError {
    HandlerError::Failed(e.into())
}

/// Matching assigned a worker: activate the order, announce it, tell the client.
pub struct OnWorkerAssigned {
    /// Business time, as every other order time.
    pub clock: service::Clock,
}

#[async_trait]
impl Handler for OnWorkerAssigned {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let assigned: WorkerAssigned = event.decode()?;
        match app::activate_order(work, &assigned, event, self.clock.now())
            .await
            .map_err(failed)?
        {
            Activation::Applied | Activation::Ignored => Ok(()),
            // Our own order: it can only be missing if this delivery overtook its commit.
            Activation::OrderUnknown => Err(HandlerError::NotYet(format!(
                "order {} not known yet",
                assigned.order_id
            ))),
        }
    }
}

/// The consumer's durable name.
pub const ON_ACCOUNT: &str = "ordering.on-account";

/// IAM created or changed an account: keep its name and address.
pub struct OnAccount;

#[async_trait]
impl Handler for OnAccount {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let (id, person) = if event.event_type == <AccountCreated as contracts::Event>::TYPE {
            let a: AccountCreated = event.decode()?;
            (
                a.account_id,
                Person {
                    email: a.email,
                    name: a.name,
                },
            )
        } else {
            let a: AccountChanged = event.decode()?;
            (
                a.account_id,
                Person {
                    email: a.email,
                    name: a.name,
                },
            )
        };
        app::remember_person(work, id, &person, event.aggregate_version)
            .await
            .map_err(failed)
    }
}

/// The consumer's durable name.
pub const ON_KIT_ISSUED: &str = "ordering.on-kit-issued";

/// Inventory issued an order's supply kit: its worker may check in from now on.
pub struct OnKitIssued;

#[async_trait]
impl Handler for OnKitIssued {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let issued: KitIssued = event.decode()?;
        app::remember_kit_issued(work, &issued)
            .await
            .map_err(failed)
    }
}
