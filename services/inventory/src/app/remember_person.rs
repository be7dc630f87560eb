//! IAM created or changed an account: Inventory keeps who holds the `supply` role and
//! whether they are active, to choose the responsible supply employee of kits.

use messaging::Work;

use super::notify;
use crate::App;
use crate::domain::{Person, choose_responsible};
use crate::error::InventoryError;
use crate::store;

/// Keeps `person` as IAM announced them at account `version`. Older versions delivered
/// late never overwrite newer ones.
///
/// When the announcement puts someone on duty (an active holder of the `supply` role), the
/// kits still to be assembled that nobody is responsible for (assembled while no supply
/// staff were known) are given out now, each to the least loaded supply employee as a new
/// kit would be, who is mailed about it. Kits someone is responsible for stay theirs, also
/// when they leave the role (staff see that in the kit's view).
pub async fn remember_person(
    app: &App,
    work: &mut Work,
    person: &Person,
    version: i64,
) -> Result<(), InventoryError> {
    store::upsert_person(work, person, version).await?;
    if !person.on_duty() {
        return Ok(());
    }
    let unassigned = store::unassigned_kits(work).await?;
    if unassigned.is_empty() {
        return Ok(());
    }
    // The staff as stored now: a late, older announcement may not have changed anything.
    let staff = store::supply_staff(work).await?;
    let mut open = store::open_kits_by_responsible(work).await?;
    for mut kit in unassigned {
        let responsible = choose_responsible(&staff, &open);
        let Some(id) = responsible.account_id else {
            return Ok(());
        };
        kit.responsible_id = Some(id);
        kit.responsible_reason = format!("given out later, {}", responsible.reason);
        if !store::assign_responsible(work, &kit).await? {
            continue;
        }
        *open.entry(id).or_default() += 1;
        if let Some(chosen) = staff.iter().find(|p| p.account_id == id) {
            notify::kit_to_assemble(app, work, &kit, chosen, None).await?;
        }
    }
    Ok(())
}
