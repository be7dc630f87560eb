//! `accounts`: who holds which ledger account, and what IAM or Hiring told of them.

use chrono::{DateTime, Utc};
use contracts::AccountId;
use storage::{AnyConnection, AnyRow, Row};

use super::{Result, parsed};
use crate::domain::{AccountKind, LedgerAccount};

/// An account as stored: the ledger account and its holder's name and e-mail (empty until
/// IAM or Hiring told them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub account: LedgerAccount,
    pub kind: AccountKind,
    pub name: String,
    pub email: String,
    pub opened_at: DateTime<Utc>,
}

fn account_of(r: &AnyRow) -> Result<AccountRow> {
    Ok(AccountRow {
        account: parsed(r, "id")?,
        kind: parsed(r, "kind")?,
        name: r.get("name"),
        email: r.get("email"),
        opened_at: storage::time(r.get("opened_at")),
    })
}

/// What IAM (or Hiring) last told of a person: name, e-mail, and the announcement's
/// aggregate version (0 when the version is not IAM's, as Hiring's hire is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub name: String,
    pub email: String,
    pub version: i64,
}

/// Opens `account` at `now` unless it is open (its holder unknown until told): `true` when
/// it was opened now.
pub async fn open_account(
    conn: &mut AnyConnection,
    account: LedgerAccount,
    now: DateTime<Utc>,
) -> Result<bool> {
    let opened = storage::query(
        "INSERT INTO accounts (id, kind, holder_id, name, email, holder_version, opened_at) \
         VALUES ($1, $2, $3, '', '', 0, $4) ON CONFLICT (id) DO NOTHING",
    )
    .bind(account.to_string())
    .bind(account.kind().as_str())
    .bind(account.holder().map(|h| h.to_string()))
    .bind(storage::micros(now))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(opened == 1)
}

/// Opens `account` if needed and keeps `holder` unless what is stored came from a newer
/// announcement (a higher version): older news heard late changes nothing.
pub async fn remember_holder(
    conn: &mut AnyConnection,
    account: LedgerAccount,
    holder: &Holder,
    now: DateTime<Utc>,
) -> Result<()> {
    storage::query(
        "INSERT INTO accounts (id, kind, holder_id, name, email, holder_version, opened_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET \
         name = excluded.name, email = excluded.email, holder_version = excluded.holder_version \
         WHERE accounts.holder_version <= excluded.holder_version",
    )
    .bind(account.to_string())
    .bind(account.kind().as_str())
    .bind(account.holder().map(|h| h.to_string()))
    .bind(&holder.name)
    .bind(&holder.email)
    .bind(holder.version)
    .bind(storage::micros(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// The account, if open.
pub async fn account(
    conn: &mut AnyConnection,
    account: LedgerAccount,
) -> Result<Option<AccountRow>> {
    storage::query("SELECT * FROM accounts WHERE id = $1")
        .bind(account.to_string())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(account_of)
        .transpose()
}

/// Locks `account`'s row until the work ends (PostgreSQL; SQLite's one writer needs no
/// lock): money moved out of it by two units of work at once is checked one after the other.
pub async fn lock_account(conn: &mut AnyConnection, account: LedgerAccount) -> Result<()> {
    storage::query(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM accounts WHERE id = $1{}",
        storage::for_update(conn)
    )))
    .bind(account.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(())
}

/// The accounts `holder` holds (a client who is also a manager holds two).
pub async fn accounts_of_holder(
    conn: &mut AnyConnection,
    holder: AccountId,
) -> Result<Vec<AccountRow>> {
    storage::query("SELECT * FROM accounts WHERE holder_id = $1 ORDER BY kind")
        .bind(holder.to_string())
        .fetch_all(conn)
        .await?
        .iter()
        .map(account_of)
        .collect()
}

/// Every account, of `kind` if given, the company's first, then by kind and id.
pub async fn accounts(
    conn: &mut AnyConnection,
    kind: Option<AccountKind>,
) -> Result<Vec<AccountRow>> {
    let rows = match kind {
        None => {
            storage::query("SELECT * FROM accounts ORDER BY holder_id IS NOT NULL, kind, id")
                .fetch_all(conn)
                .await?
        }
        Some(kind) => {
            storage::query("SELECT * FROM accounts WHERE kind = $1 ORDER BY id")
                .bind(kind.as_str())
                .fetch_all(conn)
                .await?
        }
    };
    rows.iter().map(account_of).collect()
}
