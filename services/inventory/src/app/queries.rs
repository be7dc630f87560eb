//! What the API shows: stock, the ledger, bills and kits with what they are short of.

use std::collections::BTreeMap;

use auth::{Principal, Role};
use contracts::{AccountId, ConsumableId, KitId, ServiceTypeId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use service::Refused;
use storage::AnyConnection;

use crate::App;
use crate::domain::{Bom, Kit, KitState, OnHand, Person, Shortage, Stock, StockMove};
use crate::error::InventoryError;
use crate::store;

/// A kit as supply staff see it: what goes in, what stock is short of for it now, and who
/// is responsible for it (why them is the kit's `responsible_reason`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KitView {
    #[serde(flatten)]
    pub kit: Kit,
    /// The lines stock does not cover now (empty once issued): while any is listed, the
    /// kit cannot be issued.
    pub missing: Vec<Shortage>,
    /// The responsible supply employee as IAM last announced them (name, e-mail, whether
    /// still an active supply employee); `None` when the kit has nobody responsible.
    pub responsible: Option<Person>,
}

impl KitView {
    /// `kit` with what `on_hand` does not cover, its responsible person found in `people`.
    /// Its `state` is where it is in the queue ([`Kit::stage`]).
    pub fn of(mut kit: Kit, on_hand: &OnHand, people: &BTreeMap<AccountId, Person>) -> KitView {
        let missing = kit.shortages(on_hand);
        kit.state = kit.stage(&missing);
        KitView {
            missing,
            responsible: kit.responsible_id.and_then(|id| people.get(&id).cloned()),
            kit,
        }
    }
}

/// The people responsible for `kits`, by id.
pub(super) async fn responsible_people(
    conn: &mut AnyConnection,
    kits: &[Kit],
) -> Result<BTreeMap<AccountId, Person>, InventoryError> {
    let mut ids: Vec<AccountId> = kits.iter().filter_map(|k| k.responsible_id).collect();
    ids.sort();
    ids.dedup();
    Ok(store::people_by_id(conn, &ids)
        .await?
        .into_iter()
        .map(|p| (p.account_id, p))
        .collect())
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
        return Err(Refused::NotFound("consumable").into());
    }
    Ok(store::moves(&mut conn, id).await?)
}

/// The bill of materials of `service_type`.
pub async fn bom(app: &App, service_type: ServiceTypeId) -> Result<Bom, InventoryError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    store::bom(&mut conn, service_type)
        .await?
        .ok_or(Refused::NotFound("bill of materials").into())
}

/// Kits in `state` (all when `None`) that `responsible` is responsible for (anyone's when
/// `None`), soonest job first.
pub async fn kits(
    app: &App,
    state: Option<KitState>,
    responsible: Option<AccountId>,
) -> Result<Vec<KitView>, InventoryError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let on_hand = store::on_hand(&mut conn, None).await?;
    // The open kits' queue states depend on stock and the cookie: the open ones are read
    // and split here.
    let stored = state.map(|s| if s.is_open() { KitState::ToAssemble } else { s });
    let kits = store::kits(&mut conn, stored, responsible).await?;
    let people = responsible_people(&mut conn, &kits).await?;
    Ok(kits
        .into_iter()
        .map(|k| KitView::of(k, &on_hand, &people))
        .filter(|v| state.is_none_or(|s| v.kit.state == s))
        .collect())
}

/// The kit `id`.
pub async fn kit(app: &App, id: KitId) -> Result<KitView, InventoryError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let kit = store::kit(&mut conn, id)
        .await?
        .ok_or(Refused::NotFound("kit"))?;
    let ids: Vec<_> = kit.lines.iter().map(|l| l.consumable_id).collect();
    let on_hand = store::on_hand(&mut conn, Some(&ids)).await?;
    let people = responsible_people(&mut conn, std::slice::from_ref(&kit)).await?;
    Ok(KitView::of(kit, &on_hand, &people))
}

/// The job acceptance form of kit `id` (PDF bytes), for `who`: supply staff, managers and
/// admins see any kit's; a worker only the form of his own job (another's is "not found",
/// as if it did not exist). A kit assembled before Inventory kept its order's facts has no
/// form (409 `form_unavailable`).
pub async fn form(app: &App, who: &Principal, id: KitId) -> Result<Vec<u8>, InventoryError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let kit = store::kit(&mut conn, id)
        .await?
        .ok_or(Refused::NotFound("kit"))?;
    let staff = [Role::Supply, Role::Manager, Role::Admin]
        .iter()
        .any(|r| who.has(*r));
    let own_job = kit
        .job
        .as_ref()
        .is_some_and(|j| AccountId::from(j.worker_id) == who.id);
    if !staff && !own_job {
        return Err(Refused::NotFound("kit").into());
    }
    let Some(job) = &kit.job else {
        return Err(Refused::conflict(
            "form_unavailable",
            format!("kit {id} was assembled before Inventory kept its order's facts"),
        )
        .into());
    };
    Ok(crate::form::acceptance_form(&kit, job))
}
