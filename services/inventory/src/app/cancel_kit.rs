//! Ordering canceled an order: its kit is canceled, an issued kit's consumables come back
//! to stock by `return` moves, and its fortune cookie, if still to come, is called off at
//! the contractor (by the cookie job, after this unit of work commits).

use contracts::ordering::OrderCanceled;
use messaging::Work;

use super::cookies::call_off_cookie;
use super::notify;
use crate::App;
use crate::domain::Kit;
use crate::error::InventoryError;
use crate::store;

/// What hearing a cancel did.
#[derive(Debug, Clone, PartialEq)]
pub enum KitCancel {
    /// The kit is canceled now.
    Canceled(Box<Kit>),
    /// Canceled before: nothing changed.
    Already,
    /// The order was canceled while requested: it never had a kit.
    NoKit,
    /// The order was active, but its kit is not here yet (its activation is on its way on
    /// another consumer), or the kit changed while this was deciding: hear it again later.
    NotYet,
}

/// Cancels the kit of the order `canceled` announces, in the consumer's unit of work.
pub async fn cancel_kit(
    app: &App,
    work: &mut Work,
    canceled: &OrderCanceled,
) -> Result<KitCancel, InventoryError> {
    let Some(kit) = store::kit_of_order(work, canceled.order.order_id).await? else {
        return Ok(if canceled.from_status == "active" {
            KitCancel::NotYet
        } else {
            KitCancel::NoKit
        });
    };
    let now = app.ctx.clock.now();
    let Some(cancel) = kit.cancel(canceled.canceled_by, now) else {
        return Ok(KitCancel::Already);
    };
    let ids: Vec<_> = cancel.moves.iter().map(|m| m.consumable_id).collect();
    // Locks the consumables before the low-stock check reads their sums.
    store::touch_consumables(work, &ids, now).await?;
    if !store::mark_canceled(work, &cancel.kit, kit.state).await? {
        // Issued (or canceled) by another unit of work since it was read: decide again.
        return Ok(KitCancel::NotYet);
    }
    for stock_move in &cancel.moves {
        store::insert_move(work, stock_move).await?;
    }
    // Returns add: a consumable back at or above its mark is no longer "told low".
    notify::low_stock(app, work, &ids).await?;
    call_off_cookie(work, &kit).await?;
    Ok(KitCancel::Canceled(Box::new(cancel.kit)))
}
