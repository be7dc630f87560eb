//! `ledger_entries` and `ledger_postings`: appended, never updated or deleted (the
//! database's triggers refuse both). Sums are cast to BIGINT: PostgreSQL sums BIGINTs as
//! NUMERIC, which the portable driver does not read.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use contracts::{AccountId, Money};
use storage::{AnyConnection, AnyRow, DbError, Row};

use super::{Result, parsed};
use crate::domain::{
    AccountKind, Cause, CauseKind, Entry, EntryHead, EntryId, EntryKind, LedgerAccount, Posting,
};

/// Appends `entry` (its postings' accounts must be open): `false`, and nothing written,
/// when an entry with its id is there already (the same cause booked before).
pub async fn insert_entry(conn: &mut AnyConnection, entry: &Entry) -> Result<bool> {
    let head = &entry.head;
    let inserted = storage::query(
        "INSERT INTO ledger_entries (id, kind, reason, actor, cause_kind, cause_id, \
         cause_event_id, booked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(head.id.as_str())
    .bind(head.kind.as_str())
    .bind(&head.reason)
    .bind(head.actor.to_string())
    .bind(head.cause.kind.as_str())
    .bind(&head.cause.id)
    .bind(head.cause.event_id.map(|e| e.to_string()))
    .bind(storage::micros(head.booked_at))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    for posting in entry.postings() {
        storage::query(
            "INSERT INTO ledger_postings (entry_id, account_id, amount, booked_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(head.id.as_str())
        .bind(posting.account.to_string())
        .bind(posting.amount.minor())
        .bind(storage::micros(head.booked_at))
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

fn head_of(r: &AnyRow) -> Result<EntryHead> {
    let event_id: Option<String> = r.get("cause_event_id");
    Ok(EntryHead {
        id: EntryId::stored(r.get("id")),
        kind: parsed(r, "kind")?,
        reason: r.get("reason"),
        actor: parsed(r, "actor")?,
        cause: Cause {
            kind: parsed::<CauseKind>(r, "cause_kind")?,
            id: r.get("cause_id"),
            event_id: event_id
                .map(|e| e.parse())
                .transpose()
                .map_err(|e| DbError::undecodable(format!("cause_event_id: {e}")))?,
        },
        booked_at: storage::time(r.get("booked_at")),
    })
}

/// The entry `id` with its postings, checked to balance as it is read.
pub async fn entry(conn: &mut AnyConnection, id: &EntryId) -> Result<Option<Entry>> {
    let Some(row) = storage::query("SELECT * FROM ledger_entries WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let head = head_of(&row)?;
    let postings = storage::query(
        "SELECT account_id, amount FROM ledger_postings WHERE entry_id = $1 ORDER BY account_id",
    )
    .bind(id.as_str())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Posting {
            account: parsed(r, "account_id")?,
            amount: Money::from_minor(r.get("amount")),
        })
    })
    .collect::<Result<Vec<_>>>()?;
    Entry::new(head, postings)
        .map(Some)
        .map_err(|e| DbError::undecodable(format!("entry {id}: {e}")))
}

/// One line of an account's statement: the entry and what it posted to the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRow {
    pub head: EntryHead,
    pub amount: Money,
}

/// What was posted to `account` booked in `[from, to)` (all of it when `None`), oldest
/// first.
pub async fn statement(
    conn: &mut AnyConnection,
    account: LedgerAccount,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<StatementRow>> {
    storage::query(
        "SELECT e.*, p.amount FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id \
         WHERE p.account_id = $1 AND p.booked_at >= $2 AND p.booked_at < $3 \
         ORDER BY p.booked_at, e.id",
    )
    .bind(account.to_string())
    .bind(from.map_or(i64::MIN, storage::micros))
    .bind(to.map_or(i64::MAX, storage::micros))
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(StatementRow {
            head: head_of(r)?,
            amount: Money::from_minor(r.get("amount")),
        })
    })
    .collect()
}

/// The balance of `account`: the sum of its postings.
pub async fn balance(conn: &mut AnyConnection, account: LedgerAccount) -> Result<Money> {
    let sum: i64 = storage::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_postings WHERE account_id = $1",
    )
    .bind(account.to_string())
    .fetch_one(conn)
    .await?;
    Ok(Money::from_minor(sum))
}

/// Every account's balance that has postings, by account id (the trial balance's lines).
pub async fn balances(conn: &mut AnyConnection) -> Result<BTreeMap<String, Money>> {
    Ok(storage::query(
        "SELECT account_id, CAST(SUM(amount) AS BIGINT) AS balance FROM ledger_postings \
         GROUP BY account_id",
    )
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| (r.get("account_id"), Money::from_minor(r.get("balance"))))
    .collect())
}

/// What `client` has paid so far: its collected invoices (entries of kind `collection`
/// credit the client's account), as a positive amount.
pub async fn paid_by_client(conn: &mut AnyConnection, client: AccountId) -> Result<Money> {
    let credited: i64 = storage::query_scalar(
        "SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) FROM ledger_postings p \
         JOIN ledger_entries e ON e.id = p.entry_id WHERE p.account_id = $1 AND e.kind = $2",
    )
    .bind(LedgerAccount::Client(client).to_string())
    .bind(EntryKind::Collection.as_str())
    .fetch_one(conn)
    .await?;
    Money::zero()
        .checked_sub(Money::from_minor(credited))
        .ok_or_else(|| DbError::undecodable(format!("client {client} paid beyond 64 bits")))
}

/// What entries of `cause` (a bet, an order) posted to `account`, summed.
pub async fn cause_balance(
    conn: &mut AnyConnection,
    account: LedgerAccount,
    cause: CauseKind,
    cause_id: &str,
) -> Result<Money> {
    let sum: i64 = storage::query_scalar(
        "SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) FROM ledger_postings p \
         JOIN ledger_entries e ON e.id = p.entry_id \
         WHERE p.account_id = $1 AND e.cause_kind = $2 AND e.cause_id = $3",
    )
    .bind(account.to_string())
    .bind(cause.as_str())
    .bind(cause_id)
    .fetch_one(conn)
    .await?;
    Ok(Money::from_minor(sum))
}

/// The sum of postings to accounts of `kind` booked in `[from, to)`: what a period
/// summary adds up.
pub async fn kind_total(
    conn: &mut AnyConnection,
    kind: AccountKind,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Money> {
    let sum: i64 = storage::query_scalar(
        "SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) FROM ledger_postings p \
         JOIN accounts a ON a.id = p.account_id \
         WHERE a.kind = $1 AND p.booked_at >= $2 AND p.booked_at < $3",
    )
    .bind(kind.as_str())
    .bind(storage::micros(from))
    .bind(storage::micros(to))
    .fetch_one(conn)
    .await?;
    Ok(Money::from_minor(sum))
}
