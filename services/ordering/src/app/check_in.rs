//! The assigned worker arrives, with a photo and his supply kit, inside the check-in window.

use contracts::{OrderId, WorkerId};

use super::change_order::change_order;
use super::photos::{PhotoKind, store_photo};
use crate::App;
use crate::domain::order::Order;
use crate::error::OrderingError;
use crate::store;

/// `worker` checks in on order `id` with `photo` (base64; a bad one is refused naming
/// `field`); refused (409 `kit_not_issued`) until Inventory announced the order's kit
/// issued.
pub async fn check_in(
    app: &App,
    id: OrderId,
    worker: WorkerId,
    photo: &str,
    field: &str,
) -> Result<Order, OrderingError> {
    let now = app.ctx.clock.now();
    let policy = app.config.policy();
    // Once issued, a kit stays issued: reading it before the move cannot let a check-in
    // through that the move would refuse.
    let kit_issued = {
        let mut conn = app.ctx.db.pool().acquire().await?;
        store::kit_issued(&mut conn, id).await?
    };
    let key = store_photo(app, id, PhotoKind::CheckIn, field, photo, |o, key| {
        o.check_in(worker, key, now, &policy, kit_issued)
    })
    .await?;
    change_order(app, id, |o| {
        o.check_in(worker, key, now, &policy, kit_issued)
    })
    .await
}
