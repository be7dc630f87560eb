//! After a failure the client takes up the offer: a copy of the order for a new date,
//! matched again to someone other than the worker who did not come.

use chrono::{DateTime, Utc};
use contracts::{AccountId, OrderId};
use service::Refused;

use super::Created;
use crate::App;
use crate::domain::order::Order;
use crate::error::OrderingError;
use crate::store;

/// Client `who` rebooks failed order `id` for `scheduled_at`. Once per failed order:
/// asking again returns the same copy ([`Created::Replayed`]).
pub async fn rebook_order(
    app: &App,
    who: AccountId,
    id: OrderId,
    scheduled_at: DateTime<Utc>,
) -> Result<Created<Order>, OrderingError> {
    let mut work = app.ctx.begin().await?;
    let original = store::order(&mut work, id)
        .await?
        .filter(|o| o.client_id == who)
        .ok_or(Refused::NotFound("order"))?;
    if let Some(copy) = original.rebooked_as {
        let copy = store::order(&mut work, copy).await?.ok_or_else(|| {
            web::Unexpected::msg(format!("rebooked copy {copy} of order {id} is missing"))
        })?;
        return Ok(Created::Replayed(copy));
    }
    let (copy, t) = original.rebook(who, scheduled_at, app.ctx.clock.now())?;
    store::insert_order(&mut work, &copy).await?;
    store::insert_history(&mut work, copy.id, &t.entry).await?;
    if !store::mark_rebooked(&mut work, original.id, copy.id).await? {
        return Err(OrderingError::Concurrent);
    }
    work.publish(&t.change.envelope(copy.version, None)).await?;
    work.commit().await?;
    Ok(Created::New(copy))
}
