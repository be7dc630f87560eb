//! Bets.

use contracts::{BetId, OrderId};
use storage::{AnyConnection, AnyRow, Row, parsed, parsed_opt};

use super::{Result, Which, time_opt};
use crate::domain::{Bet, BetState};

/// The most bets one list answers, newest first.
pub const BETS_LISTED: i64 = 200;

const COLUMNS: &str = "id, order_id, opened_by, opened_at, stakes_close_at, stakes_closed, \
                       state, outcome, closed_by, closed_at, settled_at, version";

/// Inserts `bet` unless its order has a bet already; `false` then.
pub async fn insert_bet(conn: &mut AnyConnection, bet: &Bet) -> Result<bool> {
    Ok(storage::query(
        "INSERT INTO bets (id, order_id, opened_by, opened_at, stakes_close_at, \
         stakes_closed, state, outcome, closed_by, closed_at, settled_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(bet.id.to_string())
    .bind(bet.order_id.to_string())
    .bind(bet.opened_by.to_string())
    .bind(storage::micros(bet.opened_at))
    .bind(bet.stakes_close_at.map(storage::micros))
    .bind(i64::from(bet.stakes_closed))
    .bind(bet.state.as_str())
    .bind(bet.outcome.map(|o| o.as_str()))
    .bind(bet.closed_by.map(String::from))
    .bind(bet.closed_at.map(storage::micros))
    .bind(bet.settled_at.map(storage::micros))
    .bind(bet.version)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Writes what changes in `bet`'s life (stakes seen closed, state, outcome, closer, times,
/// version).
pub async fn save_bet(conn: &mut AnyConnection, bet: &Bet) -> Result<()> {
    storage::query(
        "UPDATE bets SET stakes_closed = $1, state = $2, outcome = $3, closed_by = $4, \
         closed_at = $5, settled_at = $6, version = $7 WHERE id = $8",
    )
    .bind(i64::from(bet.stakes_closed))
    .bind(bet.state.as_str())
    .bind(bet.outcome.map(|o| o.as_str()))
    .bind(bet.closed_by.map(String::from))
    .bind(bet.closed_at.map(storage::micros))
    .bind(bet.settled_at.map(storage::micros))
    .bind(bet.version)
    .bind(bet.id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Bet `id`.
pub async fn bet(conn: &mut AnyConnection, id: BetId) -> Result<Option<Bet>> {
    one(conn, "id = $1", id.to_string(), "").await
}

/// Bet `id`, locked until the transaction ends (PostgreSQL; SQLite has one writer): every
/// change of a bet or of its stakes' statuses takes this lock first, so a close and a
/// stake's answer never interleave.
pub async fn lock_bet(conn: &mut AnyConnection, id: BetId) -> Result<Option<Bet>> {
    let lock = storage::for_update(conn);
    one(conn, "id = $1", id.to_string(), lock).await
}

/// The bet on `order`, if any.
pub async fn bet_of_order(conn: &mut AnyConnection, order: OrderId) -> Result<Option<Bet>> {
    one(conn, "order_id = $1", order.to_string(), "").await
}

/// The bet matching `condition` on `value` (`$1`), with `lock` appended (a row lock or "").
async fn one(
    conn: &mut AnyConnection,
    condition: &str,
    value: String,
    lock: &str,
) -> Result<Option<Bet>> {
    // Safe: the condition and the lock are constants of this file; the value is bound.
    let sql = format!("SELECT {COLUMNS} FROM bets WHERE {condition}{lock}");
    storage::query(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .fetch_optional(conn)
        .await?
        .map(|r| bet_of(&r))
        .transpose()
}

/// Bets in `state` (all if `None`), newest first, at most [`BETS_LISTED`].
pub async fn bets(conn: &mut AnyConnection, state: Option<BetState>) -> Result<Vec<Bet>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM bets WHERE id IN ({{ids}}) ORDER BY opened_at DESC, id DESC"
    );
    Which::Listed(state)
        .query(&sql)
        .fetch_all(conn)
        .await?
        .iter()
        .map(bet_of)
        .collect()
}

/// The bets left settling (a close interrupted before every payout was booked).
pub async fn settling_bets(conn: &mut AnyConnection) -> Result<Vec<BetId>> {
    storage::query("SELECT id FROM bets WHERE state = $1 ORDER BY closed_at")
        .bind(BetState::Settling.as_str())
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| parsed(r, "id"))
        .collect()
}

fn bet_of(r: &AnyRow) -> Result<Bet> {
    Ok(Bet {
        id: parsed(r, "id")?,
        order_id: parsed(r, "order_id")?,
        opened_by: parsed(r, "opened_by")?,
        opened_at: storage::time(r.get("opened_at")),
        stakes_close_at: time_opt(r.get("stakes_close_at")),
        stakes_closed: r.get::<i64, _>("stakes_closed") != 0,
        state: parsed(r, "state")?,
        outcome: parsed_opt(r, "outcome")?,
        closed_by: parsed_opt(r, "closed_by")?,
        closed_at: time_opt(r.get("closed_at")),
        settled_at: time_opt(r.get("settled_at")),
        version: r.get("version"),
    })
}
