//! `auth_codes` and `refresh_tokens`: what a sign-in grants, stored by the secret's digest.

use contracts::AccountId;
use storage::{AnyConnection, Row};

use super::{Result, account_id};

/// A stored authorization code.
pub struct Code {
    pub client_id: String,
    pub account_id: AccountId,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub expires_at: i64,
}

pub async fn insert_code(conn: &mut AnyConnection, hash: &str, c: &Code) -> Result<()> {
    storage::query(
        "INSERT INTO auth_codes (code_hash, client_id, account_id, redirect_uri, code_challenge, \
         scope, nonce, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(hash)
    .bind(&c.client_id)
    .bind(c.account_id.to_string())
    .bind(&c.redirect_uri)
    .bind(&c.code_challenge)
    .bind(&c.scope)
    .bind(&c.nonce)
    .bind(c.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the code used at `now` and returns it, exactly once: a second redemption gets
/// `None`. `family_id` names the sign-in the code starts, so a replay can end it.
pub async fn redeem_code(
    conn: &mut AnyConnection,
    hash: &str,
    family_id: &str,
    now: i64,
) -> Result<Option<Code>> {
    storage::query(
        "UPDATE auth_codes SET used_at = $1, family_id = $3 WHERE code_hash = $2 \
         AND used_at IS NULL RETURNING *",
    )
    .bind(now)
    .bind(hash)
    .bind(family_id)
    .fetch_optional(conn)
    .await?
    .map(|r| {
        Ok(Code {
            client_id: r.get("client_id"),
            account_id: account_id(&r, "account_id")?,
            redirect_uri: r.get("redirect_uri"),
            code_challenge: r.get("code_challenge"),
            scope: r.get("scope"),
            nonce: r.get("nonce"),
            expires_at: r.get("expires_at"),
        })
    })
    .transpose()
}

/// The sign-in an already redeemed code started, if the code exists and was redeemed.
pub async fn redeemed_code_family(conn: &mut AnyConnection, hash: &str) -> Result<Option<String>> {
    Ok(storage::query_scalar(
        "SELECT family_id FROM auth_codes WHERE code_hash = $1 AND used_at IS NOT NULL",
    )
    .bind(hash)
    .fetch_optional(conn)
    .await?
    .flatten())
}

/// A stored refresh token.
pub struct Refresh {
    pub family_id: String,
    pub client_id: String,
    pub account_id: AccountId,
    pub scope: String,
    pub expires_at: i64,
    pub used: bool,
    pub revoked: bool,
}

pub async fn insert_refresh(
    conn: &mut AnyConnection,
    hash: &str,
    r: &Refresh,
    now: i64,
) -> Result<()> {
    storage::query(
        "INSERT INTO refresh_tokens (token_hash, family_id, client_id, account_id, scope, \
         expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(hash)
    .bind(&r.family_id)
    .bind(&r.client_id)
    .bind(r.account_id.to_string())
    .bind(&r.scope)
    .bind(r.expires_at)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn refresh(conn: &mut AnyConnection, hash: &str) -> Result<Option<Refresh>> {
    storage::query("SELECT * FROM refresh_tokens WHERE token_hash = $1")
        .bind(hash)
        .fetch_optional(conn)
        .await?
        .map(|r| {
            Ok(Refresh {
                family_id: r.get("family_id"),
                client_id: r.get("client_id"),
                account_id: account_id(&r, "account_id")?,
                scope: r.get("scope"),
                expires_at: r.get("expires_at"),
                used: r.get::<Option<i64>, _>("used_at").is_some(),
                revoked: r.get::<Option<i64>, _>("revoked_at").is_some(),
            })
        })
        .transpose()
}

/// Marks a refresh token used; false if it already was (a concurrent rotation).
pub async fn use_refresh(conn: &mut AnyConnection, hash: &str, now: i64) -> Result<bool> {
    Ok(storage::query(
        "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(hash)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

pub async fn revoke_family(conn: &mut AnyConnection, family_id: &str, now: i64) -> Result<()> {
    storage::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(family_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Revokes a sign-in of `account_id` (an `id_token_hint` names both).
pub async fn revoke_family_of(
    conn: &mut AnyConnection,
    family_id: &str,
    account_id: AccountId,
    now: i64,
) -> Result<()> {
    storage::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND account_id = $3 \
         AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(family_id)
    .bind(account_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Revokes every live refresh token of an account (disabling it signs it out everywhere).
pub async fn revoke_account_tokens(
    conn: &mut AnyConnection,
    account_id: AccountId,
    now: i64,
) -> Result<u64> {
    Ok(storage::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(account_id.to_string())
    .execute(conn)
    .await?
    .rows_affected())
}
