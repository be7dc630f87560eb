//! Supply kits and their lines.

use contracts::{AccountId, KitId, OrderId};
use storage::{AnyConnection, AnyRow, Row};

use storage::DbError;

use super::{BoundQuery, Result, parsed};
use crate::domain::{Job, Kit, KitState, Line};

/// The most kits one list answers: the soonest jobs first, far more than a warehouse
/// hands out in a day.
pub const KITS_LISTED: i64 = 500;

/// Inserts `kit` with its lines unless its order has a kit already; `false` then (a
/// second activation of the same order makes no second kit).
pub async fn insert_kit(conn: &mut AnyConnection, kit: &Kit) -> Result<bool> {
    let job = kit.job.as_ref();
    let inserted = storage::query(
        "INSERT INTO kits (id, order_id, service_type_id, scheduled_at, state, version, \
         created_at, responsible_id, responsible_reason, client_id, client_name, worker_id, \
         worker_name, service_type_name, description, duration_minutes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(kit.id.to_string())
    .bind(kit.order_id.to_string())
    .bind(kit.service_type_id.to_string())
    .bind(storage::micros(kit.scheduled_at))
    .bind(kit.state.as_str())
    .bind(kit.version)
    .bind(storage::micros(kit.created_at))
    .bind(kit.responsible_id.map(String::from))
    .bind(&kit.responsible_reason)
    .bind(job.map(|j| j.client_id.to_string()))
    .bind(job.and_then(|j| j.client_name.clone()))
    .bind(job.map(|j| j.worker_id.to_string()))
    .bind(job.and_then(|j| j.worker_name.clone()))
    .bind(job.map(|j| j.service_type_name.clone()))
    .bind(job.map(|j| j.description.clone()))
    .bind(job.map(|j| j.duration_minutes))
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if !inserted {
        return Ok(false);
    }
    for line in &kit.lines {
        storage::query(
            "INSERT INTO kit_lines (kit_id, consumable_id, name, quantity) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(kit.id.to_string())
        .bind(line.consumable_id.to_string())
        .bind(&line.name)
        .bind(line.quantity)
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

/// Records that `kit` (as issued) was handed out, if it was still to be assembled; `false`
/// when another unit of work issued it first.
pub async fn mark_issued(conn: &mut AnyConnection, kit: &Kit) -> Result<bool> {
    Ok(storage::query(
        "UPDATE kits SET state = $1, version = $2, issued_at = $3, issued_by = $4 \
         WHERE id = $5 AND state = $6",
    )
    .bind(kit.state.as_str())
    .bind(kit.version)
    .bind(kit.issued_at.map(storage::micros))
    .bind(kit.issued_by.map(String::from))
    .bind(kit.id.to_string())
    .bind(KitState::ToAssemble.as_str())
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

async fn kit_of(conn: &mut AnyConnection, r: &AnyRow) -> Result<Kit> {
    let id: KitId = parsed(r, "id")?;
    let state: String = r.get("state");
    let lines = storage::query(
        "SELECT consumable_id, name, quantity FROM kit_lines WHERE kit_id = $1 \
         ORDER BY consumable_id",
    )
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|l| {
        Ok(Line {
            consumable_id: parsed(l, "consumable_id")?,
            name: l.get("name"),
            quantity: l.get("quantity"),
        })
    })
    .collect::<Result<Vec<_>>>()?;
    Ok(Kit {
        id,
        order_id: parsed(r, "order_id")?,
        service_type_id: parsed(r, "service_type_id")?,
        scheduled_at: storage::time(r.get("scheduled_at")),
        state: KitState::parse(&state)
            .ok_or_else(|| DbError::undecodable(format!("state {state:?}")))?,
        lines,
        created_at: storage::time(r.get("created_at")),
        issued_at: r.get::<Option<i64>, _>("issued_at").map(storage::time),
        issued_by: r
            .get::<Option<String>, _>("issued_by")
            .map(|a| a.parse::<AccountId>())
            .transpose()
            .map_err(|e| DbError::undecodable(format!("issued_by: {e}")))?,
        responsible_id: r
            .get::<Option<String>, _>("responsible_id")
            .map(|a| a.parse::<AccountId>())
            .transpose()
            .map_err(|e| DbError::undecodable(format!("responsible_id: {e}")))?,
        responsible_reason: r.get("responsible_reason"),
        cookie: super::cookies::cookie_of(r)?,
        job: job_of(r)?,
        version: r.get("version"),
    })
}

/// The order's facts of a kit row; `None` for kits assembled before they were kept.
fn job_of(r: &AnyRow) -> Result<Option<Job>> {
    if r.get::<Option<String>, _>("client_id").is_none() {
        return Ok(None);
    }
    Ok(Some(Job {
        client_id: parsed(r, "client_id")?,
        client_name: r.get("client_name"),
        worker_id: parsed(r, "worker_id")?,
        worker_name: r.get("worker_name"),
        service_type_name: r
            .get::<Option<String>, _>("service_type_name")
            .unwrap_or_default(),
        description: r
            .get::<Option<String>, _>("description")
            .unwrap_or_default(),
        duration_minutes: r
            .get::<Option<i64>, _>("duration_minutes")
            .unwrap_or_default(),
    }))
}

/// The kit `id`.
pub async fn kit(conn: &mut AnyConnection, id: KitId) -> Result<Option<Kit>> {
    let query = storage::query("SELECT * FROM kits WHERE id = $1").bind(id.to_string());
    found_kit(conn, query).await
}

/// The kit of order `id`, if it has one.
pub async fn kit_of_order(conn: &mut AnyConnection, id: OrderId) -> Result<Option<Kit>> {
    let query = storage::query("SELECT * FROM kits WHERE order_id = $1").bind(id.to_string());
    found_kit(conn, query).await
}

/// The kit of the one row `query` selects from `kits`, if any.
async fn found_kit(conn: &mut AnyConnection, query: BoundQuery<'_>) -> Result<Option<Kit>> {
    let Some(row) = query.fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    Ok(Some(kit_of(conn, &row).await?))
}

/// The kits of the rows `query` selects from `kits`, in its order.
async fn listed_kits(conn: &mut AnyConnection, query: BoundQuery<'_>) -> Result<Vec<Kit>> {
    let rows = query.fetch_all(&mut *conn).await?;
    let mut kits = Vec::with_capacity(rows.len());
    for row in &rows {
        kits.push(kit_of(conn, row).await?);
    }
    Ok(kits)
}

/// Records that `kit` (as canceled) was canceled, if it was still stored as `from` (its
/// state when read); `false` when another unit of work changed it first.
pub async fn mark_canceled(conn: &mut AnyConnection, kit: &Kit, from: KitState) -> Result<bool> {
    Ok(
        storage::query("UPDATE kits SET state = $1, version = $2 WHERE id = $3 AND state = $4")
            .bind(kit.state.as_str())
            .bind(kit.version)
            .bind(kit.id.to_string())
            .bind(from.as_str())
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Kits still to be assembled that nobody is responsible for (assembled while no supply
/// staff were known), the soonest jobs first, at most [`KITS_LISTED`].
pub async fn unassigned_kits(conn: &mut AnyConnection) -> Result<Vec<Kit>> {
    let query = storage::query(
        "SELECT * FROM kits WHERE responsible_id IS NULL AND state = $1 \
         ORDER BY scheduled_at, id LIMIT $2",
    )
    .bind(KitState::ToAssemble.as_str())
    .bind(KITS_LISTED);
    listed_kits(conn, query).await
}

/// Gives `kit` (nobody's so far, still to be assembled) to `responsible`; `false` when it
/// is somebody's already or no longer to be assembled.
pub async fn assign_responsible(conn: &mut AnyConnection, kit: &Kit) -> Result<bool> {
    Ok(storage::query(
        "UPDATE kits SET responsible_id = $1, responsible_reason = $2 \
         WHERE id = $3 AND responsible_id IS NULL AND state = $4",
    )
    .bind(kit.responsible_id.map(String::from))
    .bind(&kit.responsible_reason)
    .bind(kit.id.to_string())
    .bind(KitState::ToAssemble.as_str())
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Kits in `state` (any state when `None`) that `responsible` is responsible for (anyone's
/// when `None`), the soonest jobs first, at most [`KITS_LISTED`].
pub async fn kits(
    conn: &mut AnyConnection,
    state: Option<KitState>,
    responsible: Option<AccountId>,
) -> Result<Vec<Kit>> {
    // Only the filters asked for go into the SQL, so each query can use its index.
    let mut filters = Vec::new();
    let mut binds = Vec::new();
    if let Some(state) = state {
        binds.push(state.as_str().to_string());
        filters.push(format!("state = ${}", binds.len()));
    }
    if let Some(responsible) = responsible {
        binds.push(responsible.to_string());
        filters.push(format!("responsible_id = ${}", binds.len()));
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    let sql = format!(
        "SELECT * FROM kits {filter} ORDER BY scheduled_at, id LIMIT ${}",
        binds.len() + 1
    );
    // Safe: the text is built only from the fixed fragments above; values are bound.
    let mut query = storage::query(sqlx::AssertSqlSafe(sql));
    for bind in binds {
        query = query.bind(bind);
    }
    listed_kits(conn, query.bind(KITS_LISTED)).await
}
