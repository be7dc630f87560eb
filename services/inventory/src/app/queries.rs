//! What the API shows: stock, the ledger, bills and kits with what they are short of.

use contracts::{ConsumableId, KitId, ServiceTypeId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::App;
use crate::domain::{Bom, Kit, KitState, OnHand, Shortage, Stock, StockMove};
use crate::error::InventoryError;
use crate::store;

/// A kit as supply staff see it: what goes in, and what stock is short of for it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KitView {
    #[serde(flatten)]
    pub kit: Kit,
    /// The lines stock does not cover now (empty once issued): while any is listed, the
    /// kit cannot be issued.
    pub missing: Vec<Shortage>,
}

impl KitView {
    pub fn of(kit: Kit, on_hand: &OnHand) -> KitView {
        KitView {
            missing: kit.shortages(on_hand),
            kit,
        }
    }
}

/// Every consumable with what is on hand.
pub async fn stock(app: &App) -> Result<Vec<Stock>, InventoryError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let on_hand = store::on_hand(&mut conn, None).await?;
    Ok(store::consumables(&mut conn)
        .await?
        .into_iter()
        .map(|c| Stock::of(c, &on_hand))
        .collect())
}

/// The stock ledger of consumable `id`, oldest first.
pub async fn moves(app: &App, id: ConsumableId) -> Result<Vec<StockMove>, InventoryError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    if store::consumables_by_id(&mut conn, &[id]).await?.is_empty() {
        return Err(InventoryError::NotFound("consumable"));
    }
    Ok(store::moves(&mut conn, id).await?)
}

/// The bill of materials of `service_type`.
pub async fn bom(app: &App, service_type: ServiceTypeId) -> Result<Bom, InventoryError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    store::bom(&mut conn, service_type)
        .await?
        .ok_or(InventoryError::NotFound("bill of materials"))
}

/// Kits in `state` (all when `None`), soonest job first.
pub async fn kits(app: &App, state: Option<KitState>) -> Result<Vec<KitView>, InventoryError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let on_hand = store::on_hand(&mut conn, None).await?;
    Ok(store::kits(&mut conn, state)
        .await?
        .into_iter()
        .map(|k| KitView::of(k, &on_hand))
        .collect())
}

/// The kit `id`.
pub async fn kit(app: &App, id: KitId) -> Result<KitView, InventoryError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let kit = store::kit(&mut conn, id)
        .await?
        .ok_or(InventoryError::NotFound("kit"))?;
    let ids: Vec<_> = kit.lines.iter().map(|l| l.consumable_id).collect();
    let on_hand = store::on_hand(&mut conn, Some(&ids)).await?;
    Ok(KitView::of(kit, &on_hand))
}
