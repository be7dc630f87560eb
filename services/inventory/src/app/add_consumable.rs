use contracts::ConsumableId;
use service::Refused;

use crate::App;
use crate::domain::{NewConsumable, OnHand, Stock};
use crate::error::InventoryError;
use crate::store;

/// Supply staff add a consumable to the stock list (none on hand yet); its name is unique
/// (409 `consumable_exists`), which also makes a retried request harmless.
pub async fn add_consumable(app: &App, spec: &NewConsumable) -> Result<Stock, InventoryError> {
    let consumable = spec.validate(ConsumableId::new(), app.config.default_low_stock_threshold)?;
    let mut work = app.ctx.begin().await?;
    if let Err(e) = store::insert_consumable(&mut work, &consumable, app.ctx.clock.now()).await {
        return Err(if e.is_unique_violation() {
            Refused::conflict(
                "consumable_exists",
                format!("a consumable is named {:?} already", consumable.name),
            )
            .into()
        } else {
            e.into()
        });
    }
    work.commit().await?;
    Ok(Stock::of(consumable, &OnHand::default()))
}
