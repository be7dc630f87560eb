//! The timeline and the order files folded from it.

use contracts::OrderId;
use storage::{AnyConnection, AnyRow, DbError, Row};

use super::{Bind, Result, bind_all};
use crate::domain::figures::Finished;
use crate::domain::{Entry, OrderFile, Status};

/// Records `entry` unless the order has it already (the same event heard again): `false`
/// then.
pub async fn insert_entry(conn: &mut AnyConnection, entry: &Entry) -> Result<bool> {
    Ok(storage::query(
        "INSERT INTO timeline (order_id, event_id, event_type, at, actor, summary, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (order_id, event_id) DO NOTHING",
    )
    .bind(entry.order_id.to_string())
    .bind(entry.event_id.to_string())
    .bind(&entry.event_type)
    .bind(storage::micros(entry.at))
    .bind(entry.actor.as_deref())
    .bind(&entry.summary)
    .bind(entry.data.to_string())
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

fn entry_of(r: &AnyRow) -> Result<Entry> {
    let data: String = r.get("data");
    Ok(Entry {
        order_id: storage::parsed(r, "order_id")?,
        event_id: super::uuid(r, "event_id")?,
        event_type: r.get("event_type"),
        at: storage::time(r.get("at")),
        actor: r.get("actor"),
        summary: r.get("summary"),
        data: serde_json::from_str(&data)
            .map_err(|e| DbError::undecodable(format!("timeline data: {e}")))?,
    })
}

/// Order `order`'s timeline, oldest first.
pub async fn entries(conn: &mut AnyConnection, order: OrderId) -> Result<Vec<Entry>> {
    storage::query(
        "SELECT order_id, event_id, event_type, at, actor, summary, data FROM timeline \
         WHERE order_id = $1 ORDER BY at, event_id",
    )
    .bind(order.to_string())
    .fetch_all(conn)
    .await?
    .iter()
    .map(entry_of)
    .collect()
}

/// Takes the write lock of order `order`'s file until the unit of work ends (making a
/// placeholder row when there is none yet, replaced before the commit). Two consumers
/// recording events of the same order at once (Ordering's and Billing's streams) thereby
/// fold one after the other: the second reads the first's committed entry, instead of both
/// folding without the other's entry and the last commit losing one (PostgreSQL; SQLite
/// has one writer at a time anyway).
pub async fn lock_file(conn: &mut AnyConnection, order: OrderId) -> Result<()> {
    storage::query(
        "INSERT INTO order_files (order_id, status, file) VALUES ($1, 'unknown', 'null') \
         ON CONFLICT (order_id) DO UPDATE SET status = order_files.status",
    )
    .bind(order.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes `file` over the order's previous one.
pub async fn save_file(conn: &mut AnyConnection, file: &OrderFile) -> Result<()> {
    let json = serde_json::to_string(file).map_err(|e| DbError::undecodable(e.to_string()))?;
    storage::query(
        "INSERT INTO order_files (order_id, status, client_id, worker_id, service_type_id, \
         scheduled_at, file) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, \
         client_id = excluded.client_id, worker_id = excluded.worker_id, \
         service_type_id = excluded.service_type_id, scheduled_at = excluded.scheduled_at, \
         file = excluded.file",
    )
    .bind(file.order_id.to_string())
    .bind(file.status.as_str())
    .bind(file.client_id.map(|c| c.to_string()))
    .bind(file.worker_id.map(|w| w.to_string()))
    .bind(file.service_type_id.map(|s| s.to_string()))
    .bind(file.scheduled_at.map(storage::micros))
    .bind(json)
    .execute(conn)
    .await?;
    Ok(())
}

fn file_of(r: &AnyRow) -> Result<OrderFile> {
    let json: String = r.get("file");
    serde_json::from_str(&json).map_err(|e| DbError::undecodable(format!("order file: {e}")))
}

/// Order `order`'s file, if Quality heard of it.
pub async fn file(conn: &mut AnyConnection, order: OrderId) -> Result<Option<OrderFile>> {
    storage::query("SELECT file FROM order_files WHERE order_id = $1")
        .bind(order.to_string())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(file_of)
        .transpose()
}

/// What a search of order files looks for; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct OrderSearch {
    pub order_id: Option<OrderId>,
    pub client_id: Option<String>,
    pub worker_id: Option<String>,
    pub status: Option<Status>,
    pub service_type_id: Option<String>,
    /// Scheduled at or after (unix µs).
    pub from: Option<i64>,
    /// Scheduled before (unix µs).
    pub to: Option<i64>,
    /// Only orders whose id is below this one (the last of the previous page).
    pub after: Option<OrderId>,
    pub limit: i64,
}

/// Order files matching `search`, newest order first (ids are time-ordered).
pub async fn search(conn: &mut AnyConnection, search: &OrderSearch) -> Result<Vec<OrderFile>> {
    let mut conditions = Vec::new();
    let mut binds = Vec::new();
    let mut text = |column: &str, value: Option<String>, op: &str| {
        if let Some(v) = value {
            binds.push(Bind::Text(v));
            conditions.push(format!("{column} {op} ${}", binds.len()));
        }
    };
    text("order_id", search.order_id.map(|o| o.to_string()), "=");
    text("client_id", search.client_id.clone(), "=");
    text("worker_id", search.worker_id.clone(), "=");
    text("status", search.status.map(|s| s.as_str().to_owned()), "=");
    text("service_type_id", search.service_type_id.clone(), "=");
    text("order_id", search.after.map(|o| o.to_string()), "<");
    for (op, value) in [(">=", search.from), ("<", search.to)] {
        if let Some(v) = value {
            binds.push(Bind::Int(v));
            conditions.push(format!("scheduled_at {op} ${}", binds.len()));
        }
    }
    binds.push(Bind::Int(search.limit));
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT file FROM order_files {filter} ORDER BY order_id DESC LIMIT ${}",
        binds.len()
    );
    bind_all(storage::query(sqlx::AssertSqlSafe(sql)), &binds)
        .fetch_all(conn)
        .await?
        .iter()
        .map(file_of)
        .collect()
}

/// The finished orders scheduled in `[from, to)` (unix µs), as the figures count them.
pub async fn finished(conn: &mut AnyConnection, from: i64, to: i64) -> Result<Vec<Finished>> {
    storage::query(
        "SELECT file FROM order_files WHERE status IN ('completed', 'failed', 'canceled') \
         AND scheduled_at >= $1 AND scheduled_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        let file = file_of(r)?;
        Ok(Finished {
            status: file.status,
            worker: file.worker_id.map(|w| w.to_string()),
            service_type: file
                .service_type_id
                .map(|s| (s.to_string(), file.service_type_name.clone())),
            scheduled_at: file.scheduled_at.unwrap_or_default(),
        })
    })
    .collect()
}

/// Deletes the projection (timeline and files) for a rebuild: the queue, draws, reviews
/// and hypotheses are Quality's own records and stay.
pub async fn clear_projection(conn: &mut AnyConnection) -> Result<(u64, u64)> {
    let entries = storage::query("DELETE FROM timeline")
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let files = storage::query("DELETE FROM order_files")
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok((entries, files))
}
