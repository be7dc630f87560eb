use contracts::{AccountId, ConsumableId};
use messaging::idempotency::Keyed;
use service::Refused;

use super::Created;
use super::notify;
use crate::App;
use crate::domain::{Receipt, Stock, StockMove};
use crate::error::InventoryError;
use crate::store;

/// `who` books a delivery of consumable `id` into stock: one positive move. With `key`, a
/// retry adds nothing a second time and answers what the first got.
pub async fn receive_stock(
    app: &App,
    who: AccountId,
    id: ConsumableId,
    key: Option<&str>,
    receipt: &Receipt,
) -> Result<Created<Stock>, InventoryError> {
    let now = app.ctx.clock.now();
    let stock_move = StockMove::receipt(id, receipt, who, now)?;
    let mut work = app.ctx.begin().await?;
    let scope = format!("{who} POST /consumables/receipts");
    let ticket = match work.claim_key(&scope, key, &(id, receipt)).await? {
        Keyed::Go(ticket) => ticket,
        Keyed::Replay { status, body } => return Ok(Created::Replayed { status, body }),
    };
    let consumable = store::consumables_by_id(&mut work, &[id])
        .await?
        .pop()
        .ok_or(Refused::NotFound("consumable"))?;
    store::touch_consumables(&mut work, &[id], now).await?;
    store::insert_move(&mut work, &stock_move).await?;
    notify::low_stock(app, &mut work, &[id]).await?;
    let on_hand = store::on_hand(&mut work, Some(&[id])).await?;
    let stock = Stock::of(consumable, &on_hand);
    work.answer(ticket, 201, &stock).await?;
    work.commit().await?;
    Ok(Created::New(stock))
}
