//! `accounts`: who may sign in, with which roles and password hash.

use contracts::AccountId;
use storage::{AnyConnection, AnyRow, Row};

use storage::DbError;

use super::{Result, account_id};
use crate::domain::account::{Account, Status, roles_from_text, roles_to_text};

fn account_of(r: &AnyRow) -> Result<Account> {
    Ok(Account {
        id: account_id(r, "id")?,
        email: r.get("email"),
        name: r.get("name"),
        roles: roles_from_text(&r.get::<String, _>("roles")),
        status: Status::parse(&r.get::<String, _>("status")),
        language: r.get("language"),
    })
}

/// Inserts an account at version 1. An e-mail already taken is a unique violation
/// ([`storage::DbError::is_unique_violation`]).
pub async fn insert_account(
    conn: &mut AnyConnection,
    a: &Account,
    password_hash: Option<&str>,
    now: i64,
) -> Result<()> {
    storage::query(
        "INSERT INTO accounts (id, email, name, roles, status, password_hash, version, \
         created_at, updated_at, language) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $8)",
    )
    .bind(a.id.to_string())
    .bind(&a.email)
    .bind(&a.name)
    .bind(roles_to_text(&a.roles))
    .bind(a.status.as_str())
    .bind(password_hash)
    .bind(now)
    .bind(a.language.as_deref())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn account(conn: &mut AnyConnection, id: AccountId) -> Result<Option<Account>> {
    storage::query("SELECT * FROM accounts WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| account_of(&r))
        .transpose()
}

/// The account named by `id` as a request gave it (a path segment): none when the text is
/// not an account id at all, as when no account has it.
pub async fn account_by_text(conn: &mut AnyConnection, id: &str) -> Result<Option<Account>> {
    match id.parse() {
        Ok(id) => account(conn, id).await,
        Err(_) => Ok(None),
    }
}

/// The account and its password hash, by e-mail.
pub async fn credentials(
    conn: &mut AnyConnection,
    email: &str,
) -> Result<Option<(Account, Option<String>)>> {
    storage::query("SELECT * FROM accounts WHERE email = $1")
        .bind(email)
        .fetch_optional(conn)
        .await?
        .map(|r| Ok((account_of(&r)?, r.get("password_hash"))))
        .transpose()
}

pub async fn accounts(conn: &mut AnyConnection) -> Result<Vec<Account>> {
    storage::query("SELECT * FROM accounts ORDER BY email")
        .fetch_all(conn)
        .await?
        .iter()
        .map(account_of)
        .collect()
}

pub async fn any_admin(conn: &mut AnyConnection) -> Result<bool> {
    let n: i64 = storage::query_scalar(
        "SELECT COUNT(*) FROM accounts WHERE (' ' || roles || ' ') LIKE '% admin %'",
    )
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Saves an account's name, roles and status; returns its new version.
pub async fn update_account(conn: &mut AnyConnection, a: &Account, now: i64) -> Result<i64> {
    Ok(storage::query_scalar(
        "UPDATE accounts SET roles = $1, status = $2, name = $3, updated_at = $4, \
         language = $6, version = version + 1 WHERE id = $5 RETURNING version",
    )
    .bind(roles_to_text(&a.roles))
    .bind(a.status.as_str())
    .bind(&a.name)
    .bind(now)
    .bind(a.id.to_string())
    .bind(a.language.as_deref())
    .fetch_one(conn)
    .await?)
}

pub async fn set_password(
    conn: &mut AnyConnection,
    account_id: AccountId,
    hash: &str,
    now: i64,
) -> Result<()> {
    storage::query("UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now)
        .bind(account_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// The account linked to an upstream provider's subject (`<issuer>#<sub>`).
pub async fn account_of_upstream(
    conn: &mut AnyConnection,
    subject: &str,
) -> Result<Option<AccountId>> {
    let id: Option<String> =
        storage::query_scalar("SELECT id FROM accounts WHERE upstream_subject = $1")
            .bind(subject)
            .fetch_optional(conn)
            .await?;
    id.map(|id| id.parse().map_err(DbError::undecodable))
        .transpose()
}

/// Links an account to an upstream provider's subject.
pub async fn link_upstream(
    conn: &mut AnyConnection,
    account_id: AccountId,
    subject: &str,
) -> Result<()> {
    storage::query("UPDATE accounts SET upstream_subject = $1 WHERE id = $2")
        .bind(subject)
        .bind(account_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
