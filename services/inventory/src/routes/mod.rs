//! Inventory's HTTP API, one file per resource: the stock list and its ledger
//! (`/consumables`), bills of materials (`/boms`) and supply kits (`/kits`).

mod boms;
mod consumables;
mod cookies;
mod kits;

pub use cookies::ContractorView;
pub use kits::KitQuery;

use auth::{Access, Role, Routes};
use service::Refused;

use crate::App;
use crate::error::InventoryError;

/// Supply staff, and managers and admins, who may do what they do.
const SUPPLY: Access = Access::Roles(&[Role::Supply, Role::Manager, Role::Admin]);

/// Every route of Inventory.
pub fn routes() -> Routes<App> {
    Routes::new()
        .include(consumables::routes())
        .include(boms::routes())
        .include(kits::routes())
        .include(cookies::routes())
}

/// A path id that is not a UUID names nothing: "not found".
fn path_id<T: std::str::FromStr>(id: &str, what: &'static str) -> Result<T, InventoryError> {
    id.parse().map_err(|_| Refused::NotFound(what).into())
}
