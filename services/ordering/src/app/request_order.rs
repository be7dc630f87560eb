//! A client requests help.

use contracts::AccountId;
use messaging::idempotency::Keyed;

use super::Created;
use crate::App;
use crate::domain::order::{Order, OrderRequest};
use crate::error::OrderingError;
use crate::store;

/// Client `who` requests `req`: the order and its `order.requested` event commit together.
/// With an idempotency `key`, the same request again (same service type, description and
/// time) gets the first order back; the key on another request is refused.
pub async fn request_order(
    app: &App,
    who: AccountId,
    req: OrderRequest,
    key: Option<&str>,
) -> Result<Created<Order>, OrderingError> {
    let mut work = app.ctx.begin().await?;
    let scope = format!("{who} POST /orders");
    let ticket = match work.claim_key(&scope, key, &req).await? {
        Keyed::Go(ticket) => ticket,
        Keyed::Replay { body, .. } => return Ok(Created::Replayed(serde_json::from_str(&body)?)),
    };
    let service_type = store::service_type(&mut work, req.service_type_id)
        .await?
        .ok_or_else(|| OrderingError::invalid("service_type_id", "no such service type"))?;
    let (order, t) = Order::request(who, req, &service_type, app.ctx.clock.now())?;
    store::insert_order(&mut work, &order).await?;
    store::insert_history(&mut work, order.id, &t.entry).await?;
    work.publish(&t.change.envelope(order.version, None))
        .await?;
    work.answer(ticket, 201, &order).await?;
    work.commit().await?;
    Ok(Created::New(order))
}
