//! Supply kits and their lines.

use std::collections::BTreeMap;

use contracts::{AccountId, KitId, OrderId};
use storage::{AnyConnection, AnyRow, Row};

use storage::DbError;

use super::{BoundQuery, Result, parsed, parsed_opt, with_ids};
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
    if kit.lines.is_empty() {
        return Ok(true);
    }
    // All lines in one statement: one round trip however many lines the kit has.
    let rows: Vec<String> = (0..kit.lines.len())
        .map(|i| format!("({})", storage::placeholders(4 * i + 1, 4)))
        .collect();
    // Safe: only placeholders go into the text; the values are bound.
    let mut query = storage::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO kit_lines (kit_id, consumable_id, name, quantity) VALUES {}",
        rows.join(", ")
    )));
    for line in &kit.lines {
        query = query
            .bind(kit.id.to_string())
            .bind(line.consumable_id.to_string())
            .bind(line.name.clone())
            .bind(line.quantity);
    }
    query.execute(&mut *conn).await?;
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

/// The lines of the kits `ids`, each kit's by consumable: one query for them all.
async fn lines_of(conn: &mut AnyConnection, ids: &[KitId]) -> Result<BTreeMap<KitId, Vec<Line>>> {
    let mut lines: BTreeMap<KitId, Vec<Line>> = BTreeMap::new();
    if ids.is_empty() {
        return Ok(lines);
    }
    let rows = with_ids(
        "SELECT kit_id, consumable_id, name, quantity FROM kit_lines \
         WHERE kit_id IN ({ids}) ORDER BY kit_id, consumable_id",
        ids,
    )
    .fetch_all(conn)
    .await?;
    for l in &rows {
        lines.entry(parsed(l, "kit_id")?).or_default().push(Line {
            consumable_id: parsed(l, "consumable_id")?,
            name: l.get("name"),
            quantity: l.get("quantity"),
        });
    }
    Ok(lines)
}

/// The kit of row `r` with its `lines`.
fn kit_of(r: &AnyRow, lines: Vec<Line>) -> Result<Kit> {
    let state: String = r.get("state");
    Ok(Kit {
        id: parsed(r, "id")?,
        order_id: parsed(r, "order_id")?,
        service_type_id: parsed(r, "service_type_id")?,
        scheduled_at: storage::time(r.get("scheduled_at")),
        state: KitState::parse(&state)
            .ok_or_else(|| DbError::undecodable(format!("state {state:?}")))?,
        lines,
        created_at: storage::time(r.get("created_at")),
        issued_at: r.get::<Option<i64>, _>("issued_at").map(storage::time),
        issued_by: parsed_opt(r, "issued_by")?,
        responsible_id: parsed_opt(r, "responsible_id")?,
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
    let rows: Vec<AnyRow> = query
        .fetch_optional(&mut *conn)
        .await?
        .into_iter()
        .collect();
    Ok(kits_of(conn, &rows).await?.pop())
}

/// The kits of the rows `query` selects from `kits`, in its order.
async fn listed_kits(conn: &mut AnyConnection, query: BoundQuery<'_>) -> Result<Vec<Kit>> {
    let rows = query.fetch_all(&mut *conn).await?;
    kits_of(conn, &rows).await
}

/// The kits of `rows` (of `kits`), in their order, with their lines (read together).
async fn kits_of(conn: &mut AnyConnection, rows: &[AnyRow]) -> Result<Vec<Kit>> {
    let ids = rows
        .iter()
        .map(|r| parsed(r, "id"))
        .collect::<Result<Vec<KitId>>>()?;
    let mut lines = lines_of(conn, &ids).await?;
    rows.iter()
        .zip(&ids)
        .map(|(row, id)| kit_of(row, lines.remove(id).unwrap_or_default()))
        .collect()
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
