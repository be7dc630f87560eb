//! Matching assigned a worker: the order becomes active, says so, and the client is told.

use chrono::{DateTime, Utc};
use contracts::Envelope;
use contracts::matching::WorkerAssigned;
use messaging::Work;

use super::notify;
use crate::domain::order::Change;
use crate::error::OrderingError;
use crate::store;

/// What an assignment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// The order took the assignment (and published and mailed it).
    Applied,
    /// Older than what the order has, or too late for it: nothing changed.
    Ignored,
    /// The order is not here yet (the assignment overtook its commit): try again later.
    OrderUnknown,
}

/// Applies `assigned` (delivered as `event`) to its order inside the consumer's `work`,
/// at business time `now`. The consumer commits.
pub async fn activate_order(
    work: &mut Work,
    assigned: &WorkerAssigned,
    event: &Envelope,
    now: DateTime<Utc>,
) -> Result<Activation, OrderingError> {
    let Some(mut order) = store::order(work, assigned.order_id).await? else {
        return Ok(Activation::OrderUnknown);
    };
    let before = order.version;
    let Some(mut t) = order.assign(
        assigned.worker_id,
        assigned.price,
        event.aggregate_version,
        now,
    ) else {
        tracing::info!(order_id = %order.id, assignment = event.aggregate_version,
            status = order.status.as_str(), "stale or late assignment ignored");
        return Ok(Activation::Ignored);
    };
    if let Change::Activated(activated) = &mut t.change {
        // The names the job acceptance form prints (Inventory has no other source of
        // them); unknown people stay `None`, and the form says so.
        activated.client_name = store::person(work, order.client_id).await?.map(|p| p.name);
        activated.worker_name = store::person(work, assigned.worker_id.into())
            .await?
            .map(|p| p.name);
    }
    if !store::update_order(work, &order, before, Some(&t.entry)).await? {
        return Err(OrderingError::Concurrent);
    }
    work.publish(&t.change.envelope(order.version, Some(event)))
        .await?;
    notify::activated(work, &order, Some(event)).await?;
    Ok(Activation::Applied)
}
