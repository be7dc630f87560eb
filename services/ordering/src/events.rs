//! What Ordering does when other contexts publish.

use async_trait::async_trait;
use chrono::Utc;
use contracts::Envelope;
use contracts::matching::WorkerAssigned;
use messaging::{Handler, HandlerError, Outbox};
use storage::Tx;

use crate::store;

/// The consumer's durable name.
pub const ON_ASSIGNMENT: &str = "ordering.on-assignment";

/// Matching assigned a worker: activate the order and announce it.
pub struct OnWorkerAssigned;

#[async_trait]
impl Handler for OnWorkerAssigned {
    async fn handle(&self, tx: &mut Tx, event: &Envelope) -> Result<(), HandlerError> {
        let assigned: WorkerAssigned = event.decode()?;
        let Some(mut order) = store::order(tx, assigned.order_id)
            .await
            .map_err(|e| HandlerError::Failed(e.into()))?
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
            Utc::now(),
        ) {
            Some(activated) => {
                store::update_order(tx, &order, before)
                    .await
                    .map_err(|e| HandlerError::Failed(e.into()))?;
                Outbox::append(tx, &Envelope::new(&activated, order.version, Some(event))).await?;
            }
            None => tracing::info!(order_id = %order.id, assignment = event.aggregate_version,
                "stale assignment ignored"),
        }
        Ok(())
    }
}
