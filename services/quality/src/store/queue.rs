//! The review queue and the random samples that feed it.

use chrono::{DateTime, Utc};
use contracts::{AccountId, OrderId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use storage::{AnyConnection, AnyRow, DbError, Row};
use uuid::Uuid;

use super::{Result, uuid};
use crate::domain::QueueReason;

/// Puts `order` in the queue for `reason` unless it is there already (`false` then).
pub async fn enqueue(
    conn: &mut AnyConnection,
    order: OrderId,
    reason: QueueReason,
    draw: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<bool> {
    Ok(storage::query(
        "INSERT INTO queue (order_id, reason, draw_id, entered_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(order.to_string())
    .bind(reason.as_str())
    .bind(draw.map(|d| d.to_string()))
    .bind(storage::micros(at))
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// One order in the queue, with its review if it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow {
    pub order_id: OrderId,
    pub reason: QueueReason,
    pub draw_id: Option<Uuid>,
    pub entered_at: DateTime<Utc>,
    pub review_id: Option<Uuid>,
}

const QUEUE_SELECT: &str = "SELECT q.order_id, q.reason, q.draw_id, q.entered_at, \
    r.id AS review_id FROM queue q LEFT JOIN reviews r ON r.order_id = q.order_id";

fn queue_row(r: &AnyRow) -> Result<QueueRow> {
    let reason: String = r.get("reason");
    Ok(QueueRow {
        order_id: storage::parsed(r, "order_id")?,
        reason: QueueReason::parse(&reason)
            .ok_or_else(|| DbError::undecodable(format!("queue reason {reason:?}")))?,
        draw_id: storage::parsed_opt(r, "draw_id")?,
        entered_at: storage::time(r.get("entered_at")),
        review_id: storage::parsed_opt(r, "review_id")?,
    })
}

/// The queue, newest first: only those not reviewed yet (`reviewed` false), only the
/// reviewed ones (true) or all; at most `limit` entries.
pub async fn queue(
    conn: &mut AnyConnection,
    reviewed: Option<bool>,
    reason: Option<QueueReason>,
    limit: i64,
) -> Result<Vec<QueueRow>> {
    let review_filter = match reviewed {
        None => "",
        Some(true) => "AND r.id IS NOT NULL",
        Some(false) => "AND r.id IS NULL",
    };
    let sql = format!(
        "{QUEUE_SELECT} WHERE ($1 = '' OR q.reason = $1) {review_filter} \
         ORDER BY q.entered_at DESC, q.order_id DESC LIMIT $2"
    );
    storage::query(sqlx::AssertSqlSafe(sql))
        .bind(reason.map_or("", QueueReason::as_str))
        .bind(limit)
        .fetch_all(conn)
        .await?
        .iter()
        .map(queue_row)
        .collect()
}

/// Order `order`'s place in the queue, if it is in it.
pub async fn queue_entry(conn: &mut AnyConnection, order: OrderId) -> Result<Option<QueueRow>> {
    storage::query(sqlx::AssertSqlSafe(format!(
        "{QUEUE_SELECT} WHERE q.order_id = $1"
    )))
    .bind(order.to_string())
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(queue_row)
    .transpose()
}

/// The completed orders never queued (so never drawn, never reviewed from the queue).
pub async fn completed_not_queued(conn: &mut AnyConnection) -> Result<Vec<OrderId>> {
    storage::query(
        "SELECT f.order_id FROM order_files f LEFT JOIN queue q ON q.order_id = f.order_id \
         WHERE f.status = 'completed' AND q.order_id IS NULL",
    )
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| storage::parsed(r, "order_id"))
    .collect()
}

/// A random sample as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Draw {
    pub id: Uuid,
    pub drawn_by: AccountId,
    pub drawn_at: DateTime<Utc>,
    /// The generator's seed: with the candidates (the completed orders not queued at the
    /// time, sorted by id) it gives the same orders again.
    pub seed: i64,
    /// How many were asked for.
    pub size: i64,
    /// How many completed orders could be drawn.
    pub candidates: i64,
    /// The orders drawn, in draw order.
    pub orders: Vec<OrderId>,
}

/// Records `draw` and its orders.
pub async fn insert_draw(conn: &mut AnyConnection, draw: &Draw) -> Result<()> {
    storage::query(
        "INSERT INTO draws (id, drawn_by, drawn_at, seed, size, candidates) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(draw.id.to_string())
    .bind(draw.drawn_by.to_string())
    .bind(storage::micros(draw.drawn_at))
    .bind(draw.seed)
    .bind(draw.size)
    .bind(draw.candidates)
    .execute(&mut *conn)
    .await?;
    for (position, order) in draw.orders.iter().enumerate() {
        storage::query("INSERT INTO draw_orders (draw_id, position, order_id) VALUES ($1, $2, $3)")
            .bind(draw.id.to_string())
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(order.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn draw_of(conn: &mut AnyConnection, r: &AnyRow) -> Result<Draw> {
    let id = uuid(r, "id")?;
    let orders =
        storage::query("SELECT order_id FROM draw_orders WHERE draw_id = $1 ORDER BY position")
            .bind(id.to_string())
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|o| storage::parsed(o, "order_id"))
            .collect::<Result<Vec<_>>>()?;
    Ok(Draw {
        id,
        drawn_by: storage::parsed(r, "drawn_by")?,
        drawn_at: storage::time(r.get("drawn_at")),
        seed: r.get("seed"),
        size: r.get("size"),
        candidates: r.get("candidates"),
        orders,
    })
}

const DRAW_COLUMNS: &str = "id, drawn_by, drawn_at, seed, size, candidates";

/// Draw `id`.
pub async fn draw(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Draw>> {
    let row = storage::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DRAW_COLUMNS} FROM draws WHERE id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(r) => Ok(Some(draw_of(conn, &r).await?)),
        None => Ok(None),
    }
}

/// The latest `limit` draws, newest first.
pub async fn draws(conn: &mut AnyConnection, limit: i64) -> Result<Vec<Draw>> {
    let rows = storage::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DRAW_COLUMNS} FROM draws ORDER BY drawn_at DESC, id DESC LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(draw_of(conn, r).await?);
    }
    Ok(out)
}
