use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;
use contracts::Envelope;
use messaging::Outbox;
use serde::Deserialize;
use uuid::Uuid;
use web::Json;

use auth::{Principal, Role};

use crate::App;

const STAFF: &[Role] = &[Role::Manager, Role::Admin];
use crate::domain::order::{Order, OrderRequest, Status};
use crate::error::OrderingError;
use crate::store;

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
    let (order, event) = Order::request(&who.id, req, &service_type, Utc::now())?;
    if !store::insert_order(&mut tx, &order, key.as_deref()).await? {
        tx.rollback().await?;
        let key = key.expect("only a keyed insert can be skipped");
        return replayed(&app, &order, &key).await;
    }
    Outbox::append(&mut tx, &Envelope::new(&event, order.version, None)).await?;
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
    let first = store::order_by_idempotency_key(&mut conn, &attempt.client_id, key)
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
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| {
            OrderingError::invalid(
                "Idempotency-Key",
                "must be 1 to 200 visible ASCII characters",
            )
        })?;
    Ok(Some(key.to_owned()))
}

/// `GET /orders/{id}`: its client, its worker, and staff.
pub async fn get(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<Order>, OrderingError> {
    let id = Uuid::parse_str(&id).map_err(|_| OrderingError::NotFound("order"))?;
    let mut conn = app.rt.db.pool().acquire().await?;
    let order = store::order(&mut conn, id)
        .await?
        .ok_or(OrderingError::NotFound("order"))?;
    let is_worker = order.worker_id.is_some_and(|w| w.to_string() == who.id);
    // Someone else's order is "not found", not "forbidden": its existence is not theirs
    // to learn.
    if who.id != order.client_id && !is_worker && who.require(STAFF).is_err() {
        return Err(OrderingError::NotFound("order"));
    }
    Ok(Json(order))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    client_id: Option<String>,
    status: Option<String>,
    limit: Option<i64>,
}

/// `GET /orders?client_id=&status=&limit=`: newest first. Clients see their own orders
/// only; staff may filter by client.
pub async fn list(
    State(app): State<App>,
    who: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Order>>, OrderingError> {
    let client_id = if who.require(STAFF).is_ok() {
        q.client_id
    } else {
        if q.client_id.as_ref().is_some_and(|c| *c != who.id) {
            return Err(OrderingError::Forbidden(
                "clients see only their own orders",
            ));
        }
        Some(who.id.clone())
    };
    let status = q
        .status
        .as_deref()
        .map(|s| Status::parse(s).ok_or_else(|| OrderingError::invalid("status", "unknown status")))
        .transpose()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(OrderingError::invalid("limit", "must be 1 to 1000"));
    }
    let mut conn = app.rt.db.pool().acquire().await?;
    Ok(Json(
        store::orders(&mut conn, client_id.as_deref(), status, limit).await?,
    ))
}

/// `GET /ops/orders`: how many orders are in each status.
pub async fn counts(State(app): State<App>) -> Result<Json<BTreeMap<String, i64>>, OrderingError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    Ok(Json(store::count_by_status(&mut conn).await?))
}
