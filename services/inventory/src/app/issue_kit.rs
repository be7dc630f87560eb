use contracts::{AccountId, Envelope, KitId};
use service::Refused;

use super::queries::responsible_people;
use super::{KitView, notify};
use crate::App;
use crate::error::InventoryError;
use crate::store;

/// `who` presses Issued on kit `id`: refused while it is short of a consumable (409
/// `consumables_short`) or issued already (409 `kit_already_issued`); otherwise its
/// consumables leave stock by moves, and `inventory.kit.issued` is published, all in one
/// unit of work.
pub async fn issue_kit(app: &App, who: AccountId, id: KitId) -> Result<KitView, InventoryError> {
    let now = app.ctx.clock.now();
    let mut work = app.ctx.begin().await?;
    let kit = store::kit(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("kit"))?;
    let ids: Vec<_> = kit.lines.iter().map(|l| l.consumable_id).collect();
    // Locks the consumables before their sums are read (see `touch_consumables`).
    store::touch_consumables(&mut work, &ids, now).await?;
    let on_hand = store::on_hand(&mut work, Some(&ids)).await?;
    let issue = kit.issue(&on_hand, who, now)?;
    if !store::mark_issued(&mut work, &issue.kit).await? {
        // Issued by someone else since it was read: the same refusal as above.
        return Err(Refused::conflict(
            "kit_already_issued",
            format!("kit {id} was issued already"),
        )
        .into());
    }
    for stock_move in &issue.moves {
        store::insert_move(&mut work, stock_move).await?;
    }
    notify::low_stock(app, &mut work, &ids).await?;
    work.publish(&Envelope::new(&issue.event, issue.kit.version, None))
        .await?;
    let people = responsible_people(&mut work, std::slice::from_ref(&issue.kit)).await?;
    work.commit().await?;
    Ok(KitView::of(issue.kit, &on_hand, &people))
}
