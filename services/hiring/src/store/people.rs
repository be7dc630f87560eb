//! The accounts IAM announced, by e-mail.

use contracts::AccountId;
use storage::AnyConnection;

use storage::DbError;

use super::Result;

/// Keeps an account IAM announced (id and normalized e-mail). Versions only move forward:
/// an older event delivered late never overwrites a newer one.
pub async fn upsert_person(
    conn: &mut AnyConnection,
    account_id: AccountId,
    email: &str,
    version: i64,
) -> Result<()> {
    storage::query(
        "INSERT INTO people (account_id, email, version) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id) DO UPDATE SET email = excluded.email, \
         version = excluded.version WHERE people.version < excluded.version",
    )
    .bind(account_id.to_string())
    .bind(email)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(())
}

/// The id of the account with this (normalized) e-mail, if IAM announced one. IAM keeps
/// e-mails unique and unchanged, so there is at most one; should that ever not hold, the
/// newest wins and IAM refuses a hire that does not match its own account.
pub async fn account_by_email(conn: &mut AnyConnection, email: &str) -> Result<Option<AccountId>> {
    let id: Option<String> = storage::query_scalar(
        "SELECT account_id FROM people WHERE email = $1 ORDER BY version DESC, account_id LIMIT 1",
    )
    .bind(email)
    .fetch_optional(conn)
    .await?;
    id.map(|id| {
        id.parse().map_err(|e| {
            DbError::undecodable(format!(
                "IAM announced account {id:?} for {email}, which is not a UUID: {e}"
            ))
        })
    })
    .transpose()
}
