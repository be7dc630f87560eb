//! Ordering's tables: SQL only. Every function reads or writes rows and answers
//! [`DbError`]; what a result means (a clash, a lost race) is the caller's to decide.
//! Times are unix microseconds, ids TEXT.

use chrono::{DateTime, Utc};
use contracts::{AccountId, KitId, Money, OrderId, ServiceTypeId, WorkerId};
use storage::{AnyConnection, AnyRow, DbError, Row, micros, parsed, parsed_opt, time};

use crate::domain::order::{HistoryEntry, Order, Status};
use crate::domain::service_type::ServiceType;

fn status(s: &str) -> Result<Status, DbError> {
    Status::parse(s).ok_or_else(|| DbError::undecodable(format!("unknown order status {s:?}")))
}

/// Adds a service type; a name already taken is a unique violation
/// ([`DbError::is_unique_violation`]).
pub async fn insert_service_type(
    conn: &mut AnyConnection,
    t: &ServiceType,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    storage::query(
        "INSERT INTO service_types (id, name, description, skill, price, duration_minutes, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(t.id.to_string())
    .bind(&t.name)
    .bind(&t.description)
    .bind(&t.skill)
    .bind(t.price.minor())
    .bind(t.duration_minutes)
    .bind(micros(now))
    .execute(conn)
    .await?;
    Ok(())
}

fn service_type_of(r: &AnyRow) -> Result<ServiceType, DbError> {
    Ok(ServiceType {
        id: parsed(r, "id")?,
        name: r.get("name"),
        description: r.get("description"),
        skill: r.get("skill"),
        price: Money::from_minor(r.get("price")),
        duration_minutes: r.get("duration_minutes"),
        retired: r.get::<Option<i64>, _>("retired_at").is_some(),
    })
}

pub async fn service_type(
    conn: &mut AnyConnection,
    id: ServiceTypeId,
) -> Result<Option<ServiceType>, DbError> {
    storage::query("SELECT * FROM service_types WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| service_type_of(&r))
        .transpose()
}

/// The catalog by name; retired types only when asked for.
pub async fn service_types(
    conn: &mut AnyConnection,
    include_retired: bool,
) -> Result<Vec<ServiceType>, DbError> {
    storage::query("SELECT * FROM service_types WHERE ($1 = 1 OR retired_at IS NULL) ORDER BY name")
        .bind(i64::from(include_retired))
        .fetch_all(conn)
        .await?
        .iter()
        .map(service_type_of)
        .collect()
}

/// Saves an edited service type (name, description, skill, price, duration); a name
/// already taken is a unique violation.
pub async fn update_service_type(conn: &mut AnyConnection, t: &ServiceType) -> Result<(), DbError> {
    storage::query(
        "UPDATE service_types SET name = $1, description = $2, skill = $3, price = $4, \
         duration_minutes = $5 WHERE id = $6",
    )
    .bind(&t.name)
    .bind(&t.description)
    .bind(&t.skill)
    .bind(t.price.minor())
    .bind(t.duration_minutes)
    .bind(t.id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Retires a service type (once; retiring again keeps the first time).
pub async fn retire_service_type(
    conn: &mut AnyConnection,
    id: ServiceTypeId,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    storage::query("UPDATE service_types SET retired_at = $1 WHERE id = $2 AND retired_at IS NULL")
        .bind(micros(now))
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Inserts a new order. (The `idempotency_key` column of the first schema is no longer
/// written: keys live in the messaging idempotency table.)
pub async fn insert_order(conn: &mut AnyConnection, o: &Order) -> Result<(), DbError> {
    storage::query(
        "INSERT INTO orders (id, client_id, service_type_id, service_type_name, skill, \
         description, scheduled_at, duration_minutes, status, worker_id, price, \
         approximate_price, assignment_version, version, requested_at, rebook_of, \
         excluded_workers) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(o.id.to_string())
    .bind(o.client_id.to_string())
    .bind(o.service_type_id.to_string())
    .bind(&o.service_type_name)
    .bind(&o.skill)
    .bind(&o.description)
    .bind(micros(o.scheduled_at))
    .bind(o.duration_minutes)
    .bind(o.status.as_str())
    .bind(o.worker_id.map(String::from))
    .bind(o.price.map(Money::minor))
    .bind(o.approximate_price.minor())
    .bind(o.assignment_version)
    .bind(o.version)
    .bind(micros(o.requested_at))
    .bind(o.rebook_of.map(String::from))
    .bind(excluded_workers(&o.excluded_workers))
    .execute(conn)
    .await?;
    Ok(())
}

fn excluded_workers(workers: &[WorkerId]) -> String {
    serde_json::to_string(workers).expect("ids serialize")
}

/// Saves a changed order with its history line. `expected_version` guards against a
/// concurrent writer (another request, another replica's no-show sweep): if the order
/// moved meanwhile nothing is written and `false` is returned.
pub async fn update_order(
    conn: &mut AnyConnection,
    o: &Order,
    expected_version: i64,
    entry: Option<&HistoryEntry>,
) -> Result<bool, DbError> {
    let n = storage::query(
        "UPDATE orders SET status = $1, worker_id = $2, price = $3, assignment_version = $4, \
         version = $5, activated_at = $6, checked_in_at = $7, completed_at = $8, \
         canceled_at = $9, failed_at = $10, check_in_photo = $11, report_photo = $12, \
         reason = $13 WHERE id = $14 AND version = $15",
    )
    .bind(o.status.as_str())
    .bind(o.worker_id.map(String::from))
    .bind(o.price.map(Money::minor))
    .bind(o.assignment_version)
    .bind(o.version)
    .bind(o.activated_at.map(micros))
    .bind(o.checked_in_at.map(micros))
    .bind(o.completed_at.map(micros))
    .bind(o.canceled_at.map(micros))
    .bind(o.failed_at.map(micros))
    .bind(&o.check_in_photo)
    .bind(&o.report_photo)
    .bind(&o.reason)
    .bind(o.id.to_string())
    .bind(expected_version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n != 1 {
        return Ok(false);
    }
    if let Some(entry) = entry {
        insert_history(conn, o.id, entry).await?;
    }
    Ok(true)
}

/// Appends a line to an order's history.
pub async fn insert_history(
    conn: &mut AnyConnection,
    order_id: OrderId,
    e: &HistoryEntry,
) -> Result<(), DbError> {
    storage::query(
        "INSERT INTO order_history (order_id, version, status, at, actor, note) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(order_id.to_string())
    .bind(e.version)
    .bind(e.status.as_str())
    .bind(micros(e.at))
    .bind(&e.actor)
    .bind(&e.note)
    .execute(conn)
    .await?;
    Ok(())
}

/// An order's history, oldest first.
pub async fn history(
    conn: &mut AnyConnection,
    order_id: OrderId,
) -> Result<Vec<HistoryEntry>, DbError> {
    storage::query("SELECT * FROM order_history WHERE order_id = $1 ORDER BY version")
        .bind(order_id.to_string())
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            let status: String = r.get("status");
            Ok(HistoryEntry {
                version: r.get("version"),
                status: self::status(&status)?,
                at: time(r.get("at")),
                actor: r.get("actor"),
                note: r.get("note"),
            })
        })
        .collect()
}

/// Links a failed order to its copy, once: false if it already has one.
pub async fn mark_rebooked(
    conn: &mut AnyConnection,
    original: OrderId,
    copy: OrderId,
) -> Result<bool, DbError> {
    let n =
        storage::query("UPDATE orders SET rebooked_as = $1 WHERE id = $2 AND rebooked_as IS NULL")
            .bind(copy.to_string())
            .bind(original.to_string())
            .execute(conn)
            .await?
            .rows_affected();
    Ok(n == 1)
}

const ORDER_COLUMNS: &str = "o.id, o.client_id, o.service_type_id, o.service_type_name, \
    o.skill, o.description, o.scheduled_at, o.duration_minutes, o.status, o.worker_id, \
    o.price, o.approximate_price, o.assignment_version, o.version, o.requested_at, \
    o.activated_at, o.checked_in_at, o.completed_at, o.canceled_at, o.failed_at, \
    o.check_in_photo, o.report_photo, o.reason, o.rebook_of, o.rebooked_as, \
    o.excluded_workers";

fn opt_time(r: &AnyRow, column: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    r.get::<Option<i64>, _>(column).map(time)
}

fn order_of(r: &AnyRow) -> Result<Order, DbError> {
    let status: String = r.get("status");
    Ok(Order {
        id: parsed(r, "id")?,
        client_id: parsed(r, "client_id")?,
        service_type_id: parsed(r, "service_type_id")?,
        service_type_name: r.get("service_type_name"),
        skill: r.get("skill"),
        description: r.get("description"),
        scheduled_at: time(r.get("scheduled_at")),
        duration_minutes: r.get("duration_minutes"),
        status: self::status(&status)?,
        worker_id: parsed_opt(r, "worker_id")?,
        price: r.get::<Option<i64>, _>("price").map(Money::from_minor),
        approximate_price: Money::from_minor(r.get("approximate_price")),
        assignment_version: r.get("assignment_version"),
        version: r.get("version"),
        requested_at: time(r.get("requested_at")),
        activated_at: opt_time(r, "activated_at"),
        checked_in_at: opt_time(r, "checked_in_at"),
        completed_at: opt_time(r, "completed_at"),
        canceled_at: opt_time(r, "canceled_at"),
        failed_at: opt_time(r, "failed_at"),
        check_in_photo: r.get("check_in_photo"),
        report_photo: r.get("report_photo"),
        reason: r.get("reason"),
        rebook_of: parsed_opt(r, "rebook_of")?,
        rebooked_as: parsed_opt(r, "rebooked_as")?,
        excluded_workers: serde_json::from_str(&r.get::<String, _>("excluded_workers"))
            .map_err(|e| DbError::undecodable(format!("excluded_workers of an order: {e}")))?,
    })
}

pub async fn order(conn: &mut AnyConnection, id: OrderId) -> Result<Option<Order>, DbError> {
    storage::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?
    .map(|r| order_of(&r))
    .transpose()
}

/// Who a list of orders is for.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Anyone,
    /// A client's account id as text (staff filter by what they were given).
    Client(&'a str),
    Worker(WorkerId),
}

/// Orders of an owner, optionally in one status, newest first.
pub async fn orders(
    conn: &mut AnyConnection,
    owner: Owner<'_>,
    status: Option<Status>,
    limit: i64,
) -> Result<Vec<Order>, DbError> {
    let (client, worker) = match owner {
        Owner::Anyone => (None, None),
        Owner::Client(c) => (Some(c.to_owned()), None),
        Owner::Worker(w) => (None, Some(w.to_string())),
    };
    storage::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders o \
         WHERE ($1 IS NULL OR o.client_id = $1) AND ($2 IS NULL OR o.worker_id = $2) \
         AND ($3 IS NULL OR o.status = $3) \
         ORDER BY o.scheduled_at DESC, o.id DESC LIMIT $4"
    )))
    .bind(client)
    .bind(worker)
    .bind(status.map(Status::as_str))
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(order_of)
    .collect()
}

/// Open (requested or active) orders whose scheduled time is before `scheduled_before`
/// (i.e. whose check-in deadline has passed), and active orders whose kit was not issued
/// and whose scheduled time is before `kit_due_before`, oldest first.
pub async fn overdue(
    conn: &mut AnyConnection,
    scheduled_before: chrono::DateTime<chrono::Utc>,
    kit_due_before: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<Vec<OrderId>, DbError> {
    storage::query(
        "SELECT id FROM orders o WHERE (status IN ('requested', 'active') AND scheduled_at < $1) \
         OR (status = 'active' AND scheduled_at < $2 AND NOT EXISTS \
             (SELECT 1 FROM issued_kits k WHERE k.order_id = o.id)) \
         ORDER BY scheduled_at LIMIT $3",
    )
    .bind(micros(scheduled_before))
    .bind(micros(kit_due_before))
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| parsed(r, "id"))
    .collect()
}

/// A person as Ordering knows them from IAM (to mail clients, to name workers).
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub email: String,
    pub name: String,
}

/// Keeps the newest version of an account's contact details.
pub async fn upsert_person(
    conn: &mut AnyConnection,
    account_id: AccountId,
    person: &Person,
    version: i64,
) -> Result<(), DbError> {
    storage::query(
        "INSERT INTO people (account_id, email, name, version) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id) DO UPDATE SET email = excluded.email, name = excluded.name, \
         version = excluded.version WHERE people.version < excluded.version",
    )
    .bind(account_id.to_string())
    .bind(&person.email)
    .bind(&person.name)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn person(
    conn: &mut AnyConnection,
    account_id: AccountId,
) -> Result<Option<Person>, DbError> {
    Ok(
        storage::query("SELECT email, name FROM people WHERE account_id = $1")
            .bind(account_id.to_string())
            .fetch_optional(conn)
            .await?
            .map(|r| Person {
                email: r.get("email"),
                name: r.get("name"),
            }),
    )
}

/// Order counts per status (for operators and tests).
pub async fn count_by_status(
    conn: &mut AnyConnection,
) -> Result<std::collections::BTreeMap<String, i64>, DbError> {
    storage::counts(
        conn,
        "SELECT status AS key, COUNT(*) AS n FROM orders GROUP BY status",
    )
    .await
}

/// An order locked for a change, on PostgreSQL skipping one another replica holds (then
/// `None`: that replica is changing it). SQLite's single writer needs no lock.
pub async fn order_for_update(
    conn: &mut AnyConnection,
    id: OrderId,
) -> Result<Option<Order>, DbError> {
    storage::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = $1{}",
        storage::skip_locked(conn)
    )))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?
    .map(|r| order_of(&r))
    .transpose()
}

/// Records that Inventory issued kit `kit_id` for order `order_id` at `issued_at` (a
/// repeated announcement changes nothing).
pub async fn insert_issued_kit(
    conn: &mut AnyConnection,
    order_id: OrderId,
    kit_id: KitId,
    issued_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbError> {
    storage::query(
        "INSERT INTO issued_kits (order_id, kit_id, issued_at) VALUES ($1, $2, $3) \
         ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(order_id.to_string())
    .bind(kit_id.to_string())
    .bind(micros(issued_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether the kit of order `id` was issued.
pub async fn kit_issued(conn: &mut AnyConnection, id: OrderId) -> Result<bool, DbError> {
    Ok(issued_kit(conn, id).await?.is_some())
}

/// The kit issued for order `id`, if it was.
pub async fn issued_kit(conn: &mut AnyConnection, id: OrderId) -> Result<Option<KitId>, DbError> {
    storage::query("SELECT kit_id FROM issued_kits WHERE order_id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| parsed(&r, "kit_id"))
        .transpose()
}
