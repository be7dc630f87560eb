//! The payouts settlements decided.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use contracts::{BetId, Money, PayoutId};
use storage::{AnyConnection, AnyRow, Row, parsed, parsed_opt};

use super::{Result, Which, time_opt};
use crate::domain::Payout;

const COLUMNS: &str = "id, bet_id, stake_id, manager_id, amount, paid_at";

/// Inserts a settlement's `payouts` (none paid yet), in one statement.
pub async fn insert_payouts(conn: &mut AnyConnection, payouts: &[Payout]) -> Result<()> {
    if payouts.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..payouts.len())
        .map(|i| format!("({})", storage::placeholders(5 * i + 1, 5)))
        .collect();
    // Safe: only placeholders go into the text; the values are bound.
    let mut query = storage::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO payouts (id, bet_id, stake_id, manager_id, amount) VALUES {}",
        rows.join(", ")
    )));
    for p in payouts {
        query = query
            .bind(p.id.to_string())
            .bind(p.bet_id.to_string())
            .bind(p.stake_id.map(|s| s.to_string()))
            .bind(p.manager_id.map(String::from))
            .bind(p.amount.minor());
    }
    query.execute(conn).await?;
    Ok(())
}

/// Records payout `id` booked by Billing at `at`, unless it was already.
pub async fn mark_paid(conn: &mut AnyConnection, id: PayoutId, at: DateTime<Utc>) -> Result<()> {
    storage::query("UPDATE payouts SET paid_at = $1 WHERE id = $2 AND paid_at IS NULL")
        .bind(storage::micros(at))
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// The payouts of `bets`, by bet, in the order they were decided (payout ids are UUIDv7
/// made in that order: winners earliest stake first).
pub async fn payouts(
    conn: &mut AnyConnection,
    bets: Which,
) -> Result<BTreeMap<BetId, Vec<Payout>>> {
    let sql = format!("SELECT {COLUMNS} FROM payouts WHERE bet_id IN ({{ids}}) ORDER BY id");
    let rows = bets.query(&sql).fetch_all(conn).await?;
    let mut by_bet: BTreeMap<BetId, Vec<Payout>> = BTreeMap::new();
    for r in &rows {
        let payout = payout_of(r)?;
        by_bet.entry(payout.bet_id).or_default().push(payout);
    }
    Ok(by_bet)
}

fn payout_of(r: &AnyRow) -> Result<Payout> {
    Ok(Payout {
        id: parsed(r, "id")?,
        bet_id: parsed(r, "bet_id")?,
        stake_id: parsed_opt(r, "stake_id")?,
        manager_id: parsed_opt(r, "manager_id")?,
        amount: Money::from_minor(r.get("amount")),
        paid_at: time_opt(r.get("paid_at")),
    })
}
