//! Stakes, and the pools they make.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use contracts::bets::Outcome;
use contracts::{AccountId, BetId, Money, StakeId};
use storage::{AnyConnection, AnyRow, Row, parsed};

use super::{BoundQuery, Result, Which, time_opt};
use crate::domain::{Stake, StakeStatus};

/// The most stakes one list of a manager's answers, newest first.
const STAKES_LISTED: i64 = 500;

/// Confirmed stakes summed per outcome, per bet.
pub type Pools = BTreeMap<BetId, BTreeMap<Outcome, Money>>;

const COLUMNS: &str = "id, bet_id, manager_id, outcome, amount, status, refusal, placed_at, \
                       resolved_at, request_hash";

/// Inserts `stake` (pending), placed with the manager's Idempotency-Key `key` for the
/// request hashing to `hash`; `false` when the manager used `key` already (a retry racing
/// the first request).
pub async fn insert_stake(
    conn: &mut AnyConnection,
    stake: &Stake,
    key: &str,
    hash: &str,
) -> Result<bool> {
    Ok(storage::query(
        "INSERT INTO stakes (id, bet_id, manager_id, outcome, amount, status, refusal, \
         placed_at, resolved_at, request_key, request_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (manager_id, request_key) DO NOTHING",
    )
    .bind(stake.id.to_string())
    .bind(stake.bet_id.to_string())
    .bind(stake.manager_id.to_string())
    .bind(stake.outcome.as_str())
    .bind(stake.amount.minor())
    .bind(stake.status.as_str())
    .bind(stake.refusal.as_deref())
    .bind(storage::micros(stake.placed_at))
    .bind(stake.resolved_at.map(storage::micros))
    .bind(key)
    .bind(hash)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// The stake `manager` placed with Idempotency-Key `key`, and the hash of its request.
pub async fn stake_by_key(
    conn: &mut AnyConnection,
    manager: AccountId,
    key: &str,
) -> Result<Option<(Stake, String)>> {
    let sql = format!("SELECT {COLUMNS} FROM stakes WHERE manager_id = $1 AND request_key = $2");
    storage::query(sqlx::AssertSqlSafe(sql))
        .bind(manager.to_string())
        .bind(key)
        .fetch_optional(conn)
        .await?
        .map(|r| Ok((stake_of(&r)?, r.get("request_hash"))))
        .transpose()
}

/// Records Billing's answer about `stake` (confirmed or refused), if it was still pending;
/// `false` when another request or the sweep recorded it first.
pub async fn resolve_stake(conn: &mut AnyConnection, stake: &Stake) -> Result<bool> {
    Ok(storage::query(
        "UPDATE stakes SET status = $1, refusal = $2, resolved_at = $3 \
         WHERE id = $4 AND status = $5",
    )
    .bind(stake.status.as_str())
    .bind(stake.refusal.as_deref())
    .bind(stake.resolved_at.map(storage::micros))
    .bind(stake.id.to_string())
    .bind(StakeStatus::Pending.as_str())
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Every stake of `bet`, earliest first.
pub async fn stakes_of_bet(conn: &mut AnyConnection, bet: BetId) -> Result<Vec<Stake>> {
    let sql = format!("SELECT {COLUMNS} FROM stakes WHERE bet_id = $1 ORDER BY placed_at, id");
    stakes(
        conn,
        storage::query(sqlx::AssertSqlSafe(sql)).bind(bet.to_string()),
    )
    .await
}

/// `manager`'s stakes, newest first (at most 500).
pub async fn stakes_of_manager(conn: &mut AnyConnection, manager: AccountId) -> Result<Vec<Stake>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM stakes WHERE manager_id = $1 \
         ORDER BY placed_at DESC, id DESC LIMIT $2"
    );
    let query = storage::query(sqlx::AssertSqlSafe(sql))
        .bind(manager.to_string())
        .bind(STAKES_LISTED);
    stakes(conn, query).await
}

/// Stakes pending since before `placed_before`, earliest first: Billing's answer about
/// them was lost (its request died, Billing was down).
pub async fn pending_stakes(
    conn: &mut AnyConnection,
    placed_before: DateTime<Utc>,
) -> Result<Vec<Stake>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM stakes WHERE status = $1 AND placed_at < $2 \
         ORDER BY placed_at, id LIMIT 100"
    );
    let query = storage::query(sqlx::AssertSqlSafe(sql))
        .bind(StakeStatus::Pending.as_str())
        .bind(storage::micros(placed_before));
    stakes(conn, query).await
}

/// The pools (confirmed stakes summed per outcome) of `bets`.
pub async fn pools(conn: &mut AnyConnection, bets: Which) -> Result<Pools> {
    // Safe: the status is a constant of the code.
    let sql = format!(
        "SELECT bet_id, outcome, CAST(SUM(amount) AS BIGINT) AS total FROM stakes \
         WHERE status = '{}' AND bet_id IN ({{ids}}) GROUP BY bet_id, outcome",
        StakeStatus::Confirmed.as_str()
    );
    let rows = bets.query(&sql).fetch_all(conn).await?;
    let mut pools = Pools::new();
    for r in &rows {
        pools
            .entry(parsed(r, "bet_id")?)
            .or_default()
            .insert(parsed(r, "outcome")?, Money::from_minor(r.get("total")));
    }
    Ok(pools)
}

async fn stakes(conn: &mut AnyConnection, query: BoundQuery<'_>) -> Result<Vec<Stake>> {
    query.fetch_all(conn).await?.iter().map(stake_of).collect()
}

fn stake_of(r: &AnyRow) -> Result<Stake> {
    Ok(Stake {
        id: parsed(r, "id")?,
        bet_id: parsed(r, "bet_id")?,
        manager_id: parsed(r, "manager_id")?,
        outcome: parsed(r, "outcome")?,
        amount: Money::from_minor(r.get("amount")),
        status: parsed(r, "status")?,
        refusal: r.get("refusal"),
        placed_at: storage::time(r.get("placed_at")),
        resolved_at: time_opt(r.get("resolved_at")),
    })
}

/// Stake `id`.
pub async fn stake(conn: &mut AnyConnection, id: StakeId) -> Result<Option<Stake>> {
    let sql = format!("SELECT {COLUMNS} FROM stakes WHERE id = $1");
    storage::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| stake_of(&r))
        .transpose()
}
