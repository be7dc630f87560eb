use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use contracts::{AccountId, OrderId, WorkerId};
use messaging::Outbox;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use web::{Json, Path, Query};

use auth::Principal;

use super::STAFF;
use crate::App;
use crate::domain::order::{HistoryEntry, Order, OrderRequest, Status};
use crate::error::OrderingError;
use crate::store::{self, Owner};

/// `POST /orders`: a client requests help. The order and its `order.requested` event are
/// committed together. With an `Idempotency-Key` header, retrying the same request (after a
/// lost response, say) returns the first order with 200 instead of creating another.
pub async fn request(
    State(app): State<App>,
    who: Principal,
    headers: HeaderMap,
    Json(req): Json<OrderRequest>,
) -> Result<impl IntoResponse, OrderingError> {
    let key = idempotency_key(&headers)?;
    let mut tx = app.rt.db.begin().await?;
    let service_type = store::service_type(&mut tx, req.service_type_id)
        .await?
        .ok_or_else(|| OrderingError::invalid("service_type_id", "no such service type"))?;
    let (order, t) = Order::request(who.id, req, &service_type, app.rt.clock.now())?;
    if !store::insert_order(&mut tx, &order, key.as_deref()).await? {
        tx.rollback().await?;
        let key = key.expect("only a keyed insert can be skipped");
        return replayed(&app, &order, &key).await;
    }
    store::insert_history(&mut tx, order.id, &t.entry).await?;
    Outbox::append(&mut tx, &t.change.envelope(order.version, None)).await?;
    tx.commit().await?;
    app.rt.outbox.committed();
    let location = format!("orders/{}", order.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(order),
    ))
}

/// The first order made with this key, if the retried request is the same one.
async fn replayed(
    app: &App,
    attempt: &Order,
    key: &str,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<Order>), OrderingError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    let first = store::order_by_idempotency_key(&mut conn, attempt.client_id, key)
        .await?
        .ok_or_else(|| anyhow::anyhow!("idempotency key {key:?} conflicted but is gone"))?;
    let same = first.service_type_id == attempt.service_type_id
        && first.description == attempt.description
        && first.scheduled_at == attempt.scheduled_at;
    if !same {
        return Err(OrderingError::IdempotencyKeyReused);
    }
    let location = format!("orders/{}", first.id);
    Ok((StatusCode::OK, [(header::LOCATION, location)], Json(first)))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, OrderingError> {
    web::idempotency_key(headers).map_err(|m| OrderingError::invalid("Idempotency-Key", m))
}

/// Whether `who` may see `order`: its client, its worker, staff. Anyone else is told
/// "not found", not "forbidden": its existence is not theirs to learn.
pub fn visible_to(order: &Order, who: &Principal) -> Result<(), OrderingError> {
    let is_worker = order
        .worker_id
        .is_some_and(|w| AccountId::from(w) == who.id);
    if who.id == order.client_id || is_worker || who.require(STAFF).is_ok() {
        Ok(())
    } else {
        Err(OrderingError::NotFound("order"))
    }
}

/// An order id from the path; a malformed one is simply not found. Any form of UUID is
/// taken, as before ids were typed.
pub fn order_id(id: &str) -> Result<OrderId, OrderingError> {
    Uuid::parse_str(id)
        .map(OrderId::from_uuid)
        .map_err(|_| OrderingError::NotFound("order"))
}

/// An order as its parties read it: with its history and its check-in deadline.
#[derive(Serialize)]
pub struct OrderView {
    #[serde(flatten)]
    order: Order,
    check_in_deadline: chrono::DateTime<chrono::Utc>,
    history: Vec<HistoryEntry>,
}

/// `GET /orders/{id}`: its client, its worker, and staff.
pub async fn get(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, OrderingError> {
    let id = order_id(&id)?;
    let mut conn = app.rt.db.pool().acquire().await?;
    let order = store::order(&mut conn, id)
        .await?
        .ok_or(OrderingError::NotFound("order"))?;
    visible_to(&order, &who)?;
    let history = store::history(&mut conn, id).await?;
    Ok(Json(OrderView {
        check_in_deadline: order.deadline(&app.config.policy()),
        order,
        history,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    client_id: Option<String>,
    status: Option<String>,
    limit: Option<i64>,
}

/// `GET /orders?client_id=&status=&limit=`: latest scheduled first. Clients see their own orders
/// only; staff may filter by client.
pub async fn list(
    State(app): State<App>,
    who: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Order>>, OrderingError> {
    let client_id = if who.require(STAFF).is_ok() {
        q.client_id
    } else {
        if q.client_id
            .as_ref()
            .is_some_and(|c| *c != who.id.to_string())
        {
            return Err(OrderingError::Forbidden(
                "clients see only their own orders",
            ));
        }
        Some(who.id.to_string())
    };
    let (status, limit) = status_and_limit(q.status.as_deref(), q.limit)?;
    let owner = match client_id.as_deref() {
        Some(c) => Owner::Client(c),
        None => Owner::Anyone,
    };
    let mut conn = app.rt.db.pool().acquire().await?;
    Ok(Json(store::orders(&mut conn, owner, status, limit).await?))
}

fn status_and_limit(
    status: Option<&str>,
    limit: Option<i64>,
) -> Result<(Option<Status>, i64), OrderingError> {
    let status = status
        .map(|s| {
            Status::parse(s).ok_or_else(|| {
                OrderingError::invalid(
                    "status",
                    "must be requested, active, in_progress, completed, canceled or failed",
                )
            })
        })
        .transpose()?;
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(OrderingError::invalid("limit", "must be 1 to 1000"));
    }
    Ok((status, limit))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsQuery {
    status: Option<String>,
    limit: Option<i64>,
}

/// `GET /jobs?status=`: the calling worker's jobs (active, completed, canceled, ...),
/// latest scheduled first.
pub async fn jobs(
    State(app): State<App>,
    who: Principal,
    Query(q): Query<JobsQuery>,
) -> Result<Json<Vec<Order>>, OrderingError> {
    // A worker's id is its account's (issue 10); the route admits workers only.
    let worker = WorkerId::from(who.id);
    let (status, limit) = status_and_limit(q.status.as_deref(), q.limit)?;
    let mut conn = app.rt.db.pool().acquire().await?;
    Ok(Json(
        store::orders(&mut conn, Owner::Worker(worker), status, limit).await?,
    ))
}

/// `GET /ops/orders`: how many orders are in each status.
pub async fn counts(State(app): State<App>) -> Result<Json<BTreeMap<String, i64>>, OrderingError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    Ok(Json(store::count_by_status(&mut conn).await?))
}
