//! Ordering's tables. Times are unix microseconds, ids TEXT.

use storage::{AnyConnection, AnyRow, Row, micros, time};
use uuid::Uuid;

use crate::domain::order::{Order, Status};
use crate::domain::service_type::ServiceType;
use crate::error::OrderingError;

fn uuid(s: &str) -> Result<Uuid, OrderingError> {
    Uuid::parse_str(s).map_err(|e| OrderingError::Unexpected(e.into()))
}

pub async fn insert_service_type(
    conn: &mut AnyConnection,
    t: &ServiceType,
) -> Result<(), OrderingError> {
    let r = storage::query(
        "INSERT INTO service_types (id, name, description, skill, price, duration_minutes, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(t.id.to_string())
    .bind(&t.name)
    .bind(&t.description)
    .bind(&t.skill)
    .bind(t.price)
    .bind(t.duration_minutes)
    .bind(storage::now_micros())
    .execute(conn)
    .await;
    match r.map_err(storage::DbError::from) {
        Ok(_) => Ok(()),
        Err(e) if e.is_unique_violation() => {
            Err(OrderingError::DuplicateServiceType(t.name.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

fn service_type_of(r: &AnyRow) -> Result<ServiceType, OrderingError> {
    Ok(ServiceType {
        id: uuid(&r.get::<String, _>("id"))?,
        name: r.get("name"),
        description: r.get("description"),
        skill: r.get("skill"),
        price: r.get("price"),
        duration_minutes: r.get("duration_minutes"),
    })
}

pub async fn service_type(
    conn: &mut AnyConnection,
    id: Uuid,
) -> Result<Option<ServiceType>, OrderingError> {
    storage::query("SELECT * FROM service_types WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| service_type_of(&r))
        .transpose()
}

pub async fn service_types(conn: &mut AnyConnection) -> Result<Vec<ServiceType>, OrderingError> {
    storage::query("SELECT * FROM service_types ORDER BY name")
        .fetch_all(conn)
        .await?
        .iter()
        .map(service_type_of)
        .collect()
}

/// Inserts a new order. With an idempotency key already used by this client, inserts
/// nothing and returns `false`.
pub async fn insert_order(
    conn: &mut AnyConnection,
    o: &Order,
    idempotency_key: Option<&str>,
) -> Result<bool, OrderingError> {
    let inserted = storage::query(
        "INSERT INTO orders (id, client_id, service_type_id, description, scheduled_at, \
         duration_minutes, status, worker_id, price, assignment_version, version, requested_at, \
         activated_at, idempotency_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (client_id, idempotency_key) DO NOTHING",
    )
    .bind(o.id.to_string())
    .bind(&o.client_id)
    .bind(o.service_type_id.to_string())
    .bind(&o.description)
    .bind(micros(o.scheduled_at))
    .bind(o.duration_minutes)
    .bind(o.status.as_str())
    .bind(o.worker_id.map(|w| w.to_string()))
    .bind(o.price)
    .bind(o.assignment_version)
    .bind(o.version)
    .bind(micros(o.requested_at))
    .bind(o.activated_at.map(micros))
    .bind(idempotency_key)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The order a client created with `key`, if any.
pub async fn order_by_idempotency_key(
    conn: &mut AnyConnection,
    client_id: &str,
    key: &str,
) -> Result<Option<Order>, OrderingError> {
    storage::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders o JOIN service_types t ON t.id = o.service_type_id \
         WHERE o.client_id = $1 AND o.idempotency_key = $2"
    )))
    .bind(client_id)
    .bind(key)
    .fetch_optional(conn)
    .await?
    .map(|r| order_of(&r))
    .transpose()
}

/// Saves a changed order. `expected_version` guards against a concurrent writer.
pub async fn update_order(
    conn: &mut AnyConnection,
    o: &Order,
    expected_version: i64,
) -> Result<(), OrderingError> {
    let n = storage::query(
        "UPDATE orders SET status = $1, worker_id = $2, price = $3, assignment_version = $4, \
         version = $5, activated_at = $6 WHERE id = $7 AND version = $8",
    )
    .bind(o.status.as_str())
    .bind(o.worker_id.map(|w| w.to_string()))
    .bind(o.price)
    .bind(o.assignment_version)
    .bind(o.version)
    .bind(o.activated_at.map(micros))
    .bind(o.id.to_string())
    .bind(expected_version)
    .execute(conn)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(anyhow::anyhow!("order {} changed concurrently", o.id).into());
    }
    Ok(())
}

const ORDER_COLUMNS: &str = "o.id, o.client_id, o.service_type_id, o.description, \
    o.scheduled_at, o.duration_minutes, o.status, o.worker_id, o.price, o.assignment_version, \
    o.version, o.requested_at, o.activated_at, t.price AS approximate_price";

fn order_of(r: &AnyRow) -> Result<Order, OrderingError> {
    let status: String = r.get("status");
    Ok(Order {
        id: uuid(&r.get::<String, _>("id"))?,
        client_id: r.get("client_id"),
        service_type_id: uuid(&r.get::<String, _>("service_type_id"))?,
        description: r.get("description"),
        scheduled_at: time(r.get("scheduled_at")),
        duration_minutes: r.get("duration_minutes"),
        status: Status::parse(&status)
            .ok_or_else(|| anyhow::anyhow!("unknown order status {status:?}"))?,
        worker_id: r
            .get::<Option<String>, _>("worker_id")
            .map(|w| uuid(&w))
            .transpose()?,
        price: r.get("price"),
        approximate_price: r.get("approximate_price"),
        assignment_version: r.get("assignment_version"),
        version: r.get("version"),
        requested_at: time(r.get("requested_at")),
        activated_at: r.get::<Option<i64>, _>("activated_at").map(time),
    })
}

pub async fn order(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Order>, OrderingError> {
    storage::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders o JOIN service_types t ON t.id = o.service_type_id \
         WHERE o.id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?
    .map(|r| order_of(&r))
    .transpose()
}

/// Orders filtered by client and/or status, newest first.
pub async fn orders(
    conn: &mut AnyConnection,
    client_id: Option<&str>,
    status: Option<Status>,
    limit: i64,
) -> Result<Vec<Order>, OrderingError> {
    storage::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders o JOIN service_types t ON t.id = o.service_type_id \
         WHERE ($1 IS NULL OR o.client_id = $1) AND ($2 IS NULL OR o.status = $2) \
         ORDER BY o.requested_at DESC, o.id DESC LIMIT $3"
    )))
    .bind(client_id)
    .bind(status.map(Status::as_str))
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(order_of)
    .collect()
}

/// Order counts per status (for operators and tests).
pub async fn count_by_status(
    conn: &mut AnyConnection,
) -> Result<std::collections::BTreeMap<String, i64>, OrderingError> {
    Ok(
        storage::query("SELECT status, COUNT(*) AS n FROM orders GROUP BY status")
            .fetch_all(conn)
            .await?
            .into_iter()
            .map(|r| (r.get("status"), r.get("n")))
            .collect(),
    )
}
