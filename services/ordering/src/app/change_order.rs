//! The one way an existing order moves: load it, let the domain apply a transition, save
//! the new state with its history line, publish its event, commit.

use contracts::OrderId;
use service::Refused;

use crate::App;
use crate::domain::order::{Order, Transition};
use crate::error::OrderingError;
use crate::store;

/// Loads order `id`, lets `change` apply a transition, and commits the new state, its
/// history line and its event together. A concurrent change (another request, the no-show
/// sweep) makes this one fail with [`OrderingError::Concurrent`] and change nothing.
pub(super) async fn change_order(
    app: &App,
    id: OrderId,
    change: impl FnOnce(&mut Order) -> Result<Transition, OrderingError>,
) -> Result<Order, OrderingError> {
    let mut work = app.ctx.begin().await?;
    let mut order = store::order(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("order"))?;
    let before = order.version;
    let t = change(&mut order)?;
    if !store::update_order(&mut work, &order, before, Some(&t.entry)).await? {
        return Err(OrderingError::Concurrent);
    }
    work.publish(&t.change.envelope(order.version, None))
        .await?;
    work.commit().await?;
    Ok(order)
}
