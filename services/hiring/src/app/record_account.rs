use contracts::AccountId;
use messaging::Work;

use crate::error::HiringError;
use crate::store;

/// IAM announced an account (created or changed, at `version`): keep its id by e-mail, so
/// a candidate who already has one is hired under it. The e-mail is compared normalized
/// (trimmed, lower case), as applications keep it.
pub async fn record_account(
    work: &mut Work,
    id: AccountId,
    email: &str,
    version: i64,
) -> Result<(), HiringError> {
    let email = email.trim().to_lowercase();
    store::upsert_person(work, id, &email, version).await?;
    Ok(())
}
