//! What Ordering does when other contexts publish.

use async_trait::async_trait;
use contracts::Envelope;
use contracts::iam::{AccountChanged, AccountCreated};
use contracts::matching::WorkerAssigned;
use messaging::{Handler, HandlerError, Work};

use crate::{notify, store};

/// The consumer's durable name.
pub const ON_ASSIGNMENT: &str = "ordering.on-assignment";

fn failed(e: impl Into<anyhow::Error>) -> HandlerError {
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
        let Some(mut order) = store::order(work, assigned.order_id)
            .await
            .map_err(failed)?
        else {
            // Our own order: it can only be missing if this delivery overtook its commit.
            return Err(HandlerError::NotYet(format!(
                "order {} not known yet",
                assigned.order_id
            )));
        };
        let before = order.version;
        match order.assign(
            assigned.worker_id,
            assigned.price,
            event.aggregate_version,
            self.clock.now(),
        ) {
            Some(t) => {
                store::update_order(work, &order, before, Some(&t.entry))
                    .await
                    .map_err(failed)?;
                work.publish(&t.change.envelope(order.version, Some(event)))
                    .await?;
                notify::activated(work, &order, Some(event))
                    .await
                    .map_err(failed)?;
            }
            None => tracing::info!(order_id = %order.id, assignment = event.aggregate_version,
                status = order.status.as_str(), "stale or late assignment ignored"),
        }
        Ok(())
    }
}

/// The consumer's durable name.
pub const ON_ACCOUNT: &str = "ordering.on-account";

/// IAM created or changed an account: keep its name and address (clients are mailed,
/// workers named in mails). Older versions delivered late never overwrite newer ones.
pub struct OnAccount;

#[async_trait]
impl Handler for OnAccount {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let (id, person) = if event.event_type == <AccountCreated as contracts::Event>::TYPE {
            let a: AccountCreated = event.decode()?;
            (
                a.account_id,
                store::Person {
                    email: a.email,
                    name: a.name,
                },
            )
        } else {
            let a: AccountChanged = event.decode()?;
            (
                a.account_id,
                store::Person {
                    email: a.email,
                    name: a.name,
                },
            )
        };
        store::upsert_person(work, id, &person, event.aggregate_version)
            .await
            .map_err(failed)?;
        Ok(())
    }
}
