//! `password_links`: set-password links, stored by the token's digest.

use contracts::AccountId;
use storage::AnyConnection;

use storage::DbError;

use super::Result;

/// Stores a password link for `account_id`.
pub async fn insert_password_link(
    conn: &mut AnyConnection,
    hash: &str,
    account_id: AccountId,
    purpose: &str,
    expires_at: i64,
    now: i64,
) -> Result<()> {
    storage::query(
        "INSERT INTO password_links (token_hash, account_id, purpose, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash)
    .bind(account_id.to_string())
    .bind(purpose)
    .bind(expires_at)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Uses a password link once at `now`: the account id if it was unused and unexpired.
pub async fn use_password_link(
    conn: &mut AnyConnection,
    hash: &str,
    now: i64,
) -> Result<Option<AccountId>> {
    let id: Option<String> = storage::query_scalar(
        "UPDATE password_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL \
         AND expires_at > $1 RETURNING account_id",
    )
    .bind(now)
    .bind(hash)
    .fetch_optional(conn)
    .await?;
    id.map(|id| id.parse().map_err(DbError::undecodable))
        .transpose()
}

/// True when the link exists, is unused and unexpired at `now` (the page checks before
/// showing a form).
pub async fn password_link_usable(conn: &mut AnyConnection, hash: &str, now: i64) -> Result<bool> {
    let n: i64 = storage::query_scalar(
        "SELECT COUNT(*) FROM password_links WHERE token_hash = $1 AND used_at IS NULL \
         AND expires_at > $2",
    )
    .bind(hash)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(n == 1)
}
