//! Consumables and the stock ledger (`stock_moves`, append-only: inserted, never updated).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use contracts::ConsumableId;
use storage::{AnyConnection, AnyRow, Row};

use storage::DbError;

use super::{Result, parsed, parsed_opt, with_ids};
use crate::domain::{Consumable, MoveKind, OnHand, StockMove};

fn consumable_of(r: &AnyRow) -> Result<Consumable> {
    Ok(Consumable {
        id: parsed(r, "id")?,
        name: r.get("name"),
        unit: r.get("unit"),
        low_stock_threshold: r.get("low_stock_threshold"),
    })
}

/// Inserts a consumable made at `now` (a taken name is a unique violation).
pub async fn insert_consumable(
    conn: &mut AnyConnection,
    c: &Consumable,
    now: DateTime<Utc>,
) -> Result<()> {
    storage::query(
        "INSERT INTO consumables (id, name, unit, low_stock_threshold, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(c.id.to_string())
    .bind(&c.name)
    .bind(&c.unit)
    .bind(c.low_stock_threshold)
    .bind(storage::micros(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Every consumable, by name.
pub async fn consumables(conn: &mut AnyConnection) -> Result<Vec<Consumable>> {
    storage::query("SELECT * FROM consumables ORDER BY name, id")
        .fetch_all(conn)
        .await?
        .iter()
        .map(consumable_of)
        .collect()
}

/// Those of `ids` that exist, each once, in the order first asked.
pub async fn consumables_by_id(
    conn: &mut AnyConnection,
    ids: &[ConsumableId],
) -> Result<Vec<Consumable>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = with_ids("SELECT * FROM consumables WHERE id IN ({ids})", ids)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((parsed(r, "id")?, consumable_of(r)?)))
        .collect::<Result<BTreeMap<ConsumableId, Consumable>>>()?;
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// Marks each of `ids` as moved at `now`, in id order. On PostgreSQL the update holds the
/// rows' locks until commit, so a concurrent unit of work moving the same consumables waits
/// here and then reads the sums this one leaves (SQLite serializes writers anyway); the
/// fixed order keeps two of them from waiting on each other.
pub async fn touch_consumables(
    conn: &mut AnyConnection,
    ids: &[ConsumableId],
    now: DateTime<Utc>,
) -> Result<()> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    for id in ids {
        storage::query("UPDATE consumables SET last_move_at = $1 WHERE id = $2")
            .bind(storage::micros(now))
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// What is on hand of `ids` (every consumable when `None`): the sums of their moves. (The
/// cast: PostgreSQL sums BIGINTs as NUMERIC, which the portable driver does not read.)
pub async fn on_hand(conn: &mut AnyConnection, ids: Option<&[ConsumableId]>) -> Result<OnHand> {
    let sums =
        match ids {
            None => storage::query(
                "SELECT consumable_id, CAST(SUM(quantity) AS BIGINT) AS on_hand FROM stock_moves \
                 GROUP BY consumable_id",
            )
            .fetch_all(conn)
            .await?,
            Some([]) => Vec::new(),
            Some(ids) => with_ids(
                "SELECT consumable_id, CAST(SUM(quantity) AS BIGINT) AS on_hand FROM stock_moves \
                 WHERE consumable_id IN ({ids}) GROUP BY consumable_id",
                ids,
            )
            .fetch_all(conn)
            .await?,
        };
    let sums = sums
        .iter()
        .map(|r| Ok((parsed(r, "consumable_id")?, r.get::<i64, _>("on_hand"))))
        .collect::<Result<Vec<_>>>()?;
    Ok(OnHand::from_sums(sums))
}

/// Appends `m` to the ledger.
pub async fn insert_move(conn: &mut AnyConnection, m: &StockMove) -> Result<()> {
    storage::query(
        "INSERT INTO stock_moves (id, consumable_id, quantity, kind, kit_id, actor, moved_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    // UUIDv7: the ledger's ids sort by when the moves were made.
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(m.consumable_id.to_string())
    .bind(m.quantity)
    .bind(m.kind.as_str())
    .bind(m.kit_id.map(String::from))
    .bind(m.actor.to_string())
    .bind(storage::micros(m.moved_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// The ledger of consumable `id`, oldest first.
pub async fn moves(conn: &mut AnyConnection, id: ConsumableId) -> Result<Vec<StockMove>> {
    storage::query("SELECT * FROM stock_moves WHERE consumable_id = $1 ORDER BY moved_at, id")
        .bind(id.to_string())
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            let kind: String = r.get("kind");
            Ok(StockMove {
                consumable_id: parsed(r, "consumable_id")?,
                quantity: r.get("quantity"),
                kind: MoveKind::parse(&kind)
                    .ok_or_else(|| DbError::undecodable(format!("kind {kind:?}")))?,
                kit_id: parsed_opt(r, "kit_id")?,
                actor: parsed(r, "actor")?,
                moved_at: storage::time(r.get("moved_at")),
            })
        })
        .collect()
}

/// For each of `ids` that exists: whether supply staff were told it is low (and it has not
/// recovered since), and how many falls below its mark they were told of.
pub async fn low_stock_states(
    conn: &mut AnyConnection,
    ids: &[ConsumableId],
) -> Result<BTreeMap<ConsumableId, (bool, i64)>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    with_ids(
        "SELECT id, low_told, low_alerts FROM consumables WHERE id IN ({ids})",
        ids,
    )
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        let told = r.get::<i64, _>("low_told") != 0;
        Ok((parsed(r, "id")?, (told, r.get("low_alerts"))))
    })
    .collect()
}

/// Records whether staff were told consumable `id` is low, and the count of falls told.
pub async fn set_low_stock_state(
    conn: &mut AnyConnection,
    id: ConsumableId,
    told: bool,
    alerts: i64,
) -> Result<()> {
    storage::query("UPDATE consumables SET low_told = $1, low_alerts = $2 WHERE id = $3")
        .bind(i64::from(told))
        .bind(alerts)
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
