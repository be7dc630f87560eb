//! The assigned worker arrives, with a photo, inside the check-in window.

use contracts::{OrderId, WorkerId};

use super::change_order::change_order;
use super::photos::{PhotoKind, store_photo};
use crate::App;
use crate::domain::order::Order;
use crate::error::OrderingError;

/// `worker` checks in on order `id` with `photo` (base64; a bad one is refused naming
/// `field`).
pub async fn check_in(
    app: &App,
    id: OrderId,
    worker: WorkerId,
    photo: &str,
    field: &str,
) -> Result<Order, OrderingError> {
    let now = app.ctx.clock.now();
    let policy = app.config.policy();
    let key = store_photo(app, id, PhotoKind::CheckIn, field, photo, |o, key| {
        o.check_in(worker, key, now, &policy)
    })
    .await?;
    change_order(app, id, |o| o.check_in(worker, key, now, &policy)).await
}
