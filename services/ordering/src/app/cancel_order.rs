//! The client (or staff for them) cancels a requested or active order.

use contracts::OrderId;

use super::change_order::change_order;
use crate::App;
use crate::domain::order::{Canceler, Order};
use crate::error::OrderingError;

/// `by` cancels order `id`, with the client's words as `reason` if any.
pub async fn cancel_order(
    app: &App,
    id: OrderId,
    by: Canceler,
    reason: Option<String>,
) -> Result<Order, OrderingError> {
    let now = app.ctx.clock.now();
    change_order(app, id, |order| order.cancel(by, reason, now)).await
}
