use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;
use contracts::Envelope;
use messaging::Outbox;
use serde::Deserialize;
use uuid::Uuid;
use web::Json;

use crate::App;
use crate::domain::order::{Order, OrderRequest, Status};
use crate::error::OrderingError;
use crate::store;

/// `POST /orders`: a client requests help. The order and its `order.requested` event are
/// committed together.
pub async fn request(
    State(app): State<App>,
    Json(req): Json<OrderRequest>,
) -> Result<impl IntoResponse, OrderingError> {
    let mut tx = app.rt.db.begin().await?;
    let service_type = store::service_type(&mut tx, req.service_type_id)
        .await?
        .ok_or_else(|| OrderingError::invalid("service_type_id", "no such service type"))?;
    let (order, event) = Order::request(req, &service_type, Utc::now())?;
    store::insert_order(&mut tx, &order).await?;
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

/// `GET /orders/{id}`.
pub async fn get(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Order>, OrderingError> {
    let id = Uuid::parse_str(&id).map_err(|_| OrderingError::NotFound("order"))?;
    let mut conn = app.rt.db.pool().acquire().await?;
    store::order(&mut conn, id)
        .await?
        .map(Json)
        .ok_or(OrderingError::NotFound("order"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    client_id: Option<String>,
    status: Option<String>,
    limit: Option<i64>,
}

/// `GET /orders?client_id=&status=&limit=`: newest first.
pub async fn list(
    State(app): State<App>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Order>>, OrderingError> {
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
        store::orders(&mut conn, q.client_id.as_deref(), status, limit).await?,
    ))
}

/// `GET /ops/orders`: how many orders are in each status.
pub async fn counts(State(app): State<App>) -> Result<Json<BTreeMap<String, i64>>, OrderingError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    Ok(Json(store::count_by_status(&mut conn).await?))
}
