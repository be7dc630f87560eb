use contracts::{AccountId, ServiceTypeId};

use crate::App;
use crate::domain::{Bom, BomSpec};
use crate::error::InventoryError;
use crate::store;

/// `who` (a manager or supply staff) writes the bill of materials of `service_type`,
/// replacing the one before. Kits assembled before keep the lines they were made with.
///
/// Inventory does not know Ordering's catalog: any service type id is taken, and a bill
/// for one that never gets an order is simply never used.
pub async fn write_bom(
    app: &App,
    who: AccountId,
    service_type: ServiceTypeId,
    spec: &BomSpec,
) -> Result<Bom, InventoryError> {
    let mut work = app.ctx.begin().await?;
    let ids: Vec<_> = spec.lines.iter().map(|l| l.consumable_id).collect();
    let known = store::consumables_by_id(&mut work, &ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let bom = spec.validate(service_type, &known, who, app.ctx.clock.now())?;
    store::save_bom(&mut work, &bom).await?;
    work.commit().await?;
    Ok(bom)
}
