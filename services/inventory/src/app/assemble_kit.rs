use contracts::ordering::OrderActivated;
use contracts::{Envelope, KitId};
use messaging::Work;

use super::notify;
use crate::App;
use crate::domain::{Kit, choose_responsible};
use crate::error::InventoryError;
use crate::store;

/// An order became active (`activated`): its kit is assembled from its service type's bill
/// of materials as it is now (no lines when the type has no bill), in the consumer's unit
/// of work, in the care of the least loaded active supply employee (nobody when none is
/// known), who is mailed about it with links to the kit and its acceptance form, and
/// `inventory.kit.assembled` is published. An order gets one kit however often its
/// activation is heard: `None` when it has one already.
pub async fn assemble_kit(
    app: &App,
    work: &mut Work,
    activated: &OrderActivated,
) -> Result<Option<Kit>, InventoryError> {
    let bill = store::bom(work, activated.service_type_id)
        .await?
        .map(|b| b.lines)
        .unwrap_or_default();
    // Two kits assembled at once on PostgreSQL may both see the same loads and pick the
    // same person: a slightly uneven share, which the next choices even out.
    let staff = store::supply_staff(work).await?;
    let open = store::open_kits_by_responsible(work).await?;
    let responsible = choose_responsible(&staff, &open);
    let kit = Kit::assemble(
        KitId::new(),
        activated,
        bill,
        responsible,
        app.ctx.clock.now(),
    );
    if !store::insert_kit(work, &kit).await? {
        return Ok(None);
    }
    work.publish(&Envelope::new(&kit.assembled(), kit.version, None))
        .await?;
    // The responsible employee hears of the new kit by mail, in this unit of work.
    if let Some(person) = staff
        .iter()
        .find(|p| Some(p.account_id) == kit.responsible_id)
    {
        notify::kit_to_assemble(app, work, &kit, person, None).await?;
    }
    Ok(Some(kit))
}
