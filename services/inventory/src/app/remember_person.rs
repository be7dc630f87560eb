//! IAM created or changed an account: Inventory keeps who holds the `supply` role and
//! whether they are active, to choose the responsible supply employee of new kits.

use messaging::Work;

use crate::domain::Person;
use crate::error::InventoryError;
use crate::store;

/// Keeps `person` as IAM announced them at account `version`. Older versions delivered
/// late never overwrite newer ones. Kits assembled without anyone responsible stay so:
/// nobody is reassigned when supply staff appear later.
pub async fn remember_person(
    work: &mut Work,
    person: &Person,
    version: i64,
) -> Result<(), InventoryError> {
    store::upsert_person(work, person, version).await?;
    Ok(())
}
