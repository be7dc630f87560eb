//! IAM created or changed an account: Ordering keeps its name and address (clients are
//! mailed, workers named in mails).

use contracts::AccountId;
use messaging::Work;

use crate::error::OrderingError;
use crate::store::{self, Person};

/// Keeps `person` as account `id`'s details at account `version`. Older versions delivered
/// late never overwrite newer ones.
pub async fn remember_person(
    work: &mut Work,
    id: AccountId,
    person: &Person,
    version: i64,
) -> Result<(), OrderingError> {
    store::upsert_person(work, id, person, version).await?;
    Ok(())
}
