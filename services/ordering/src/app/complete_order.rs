//! The assigned worker finishes with the photo of the signed report.

use contracts::{OrderId, WorkerId};

use super::change_order::change_order;
use super::photos::{PhotoKind, store_photo};
use crate::App;
use crate::domain::order::Order;
use crate::error::OrderingError;

/// `worker` completes order `id` with `report_photo` (base64; a bad one is refused naming
/// `field`).
pub async fn complete_order(
    app: &App,
    id: OrderId,
    worker: WorkerId,
    report_photo: &str,
    field: &str,
) -> Result<Order, OrderingError> {
    let now = app.ctx.clock.now();
    let key = store_photo(app, id, PhotoKind::Report, field, report_photo, |o, key| {
        o.complete(worker, key, now)
    })
    .await?;
    change_order(app, id, |o| o.complete(worker, key, now)).await
}
