//! `/orders`, `/jobs` and `/ops/orders`: requesting help and reading orders back.

use std::collections::BTreeMap;

use auth::{Access, Principal, Role, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use contracts::{OrderId, WorkerId};
use serde::{Deserialize, Serialize};
use web::{IdempotencyKey, Json, Path, Query};

use super::{CLIENT_OR_STAFF, PARTIES_AND_SERVICES, created, order_id};
use crate::App;
use crate::app::{self, Created, OrderView};
use crate::domain::order::{Order, OrderRequest};
use crate::error::OrderingError;

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::post("/orders", Access::Roles(&[Role::Client]))
                .summary("Request help")
                .idempotency_key()
                .body::<OrderRequest>()
                .returns::<Order>(StatusCode::CREATED)
                .returns::<Order>(StatusCode::OK),
            request,
        )
        .route(
            Route::get("/orders", Access::Roles(CLIENT_OR_STAFF))
                .summary("Orders, latest scheduled first (a client's own only)")
                .query::<OrderListQuery>()
                .returns::<Vec<Order>>(StatusCode::OK),
            list,
        )
        .route(
            Route::get("/orders/{id}", Access::Roles(PARTIES_AND_SERVICES))
                .summary("An order with its history, for its parties and other services")
                .param::<OrderId>("id")
                .returns::<OrderView>(StatusCode::OK),
            get,
        )
        .route(
            Route::get("/jobs", Access::Roles(&[Role::Worker]))
                .summary("The calling worker's jobs, latest scheduled first")
                .query::<JobsQuery>()
                .returns::<Vec<Order>>(StatusCode::OK),
            jobs,
        )
        .route(
            Route::get("/ops/orders", Access::Roles(&[Role::Admin]))
                .summary("How many orders are in each status")
                .returns::<BTreeMap<String, i64>>(StatusCode::OK),
            counts,
        )
}

/// `POST /orders`: a client requests help. The order and its `order.requested` event are
/// committed together. With an `Idempotency-Key` header, retrying the same request (after a
/// lost response, say) returns the first order with 200 instead of creating another.
async fn request(
    State(app): State<App>,
    who: Principal,
    key: IdempotencyKey,
    Json(req): Json<OrderRequest>,
) -> Result<Response, OrderingError> {
    let made = app::request_order(&app, who.id, req, key.as_deref()).await?;
    let id = match &made {
        Created::New(o) | Created::Replayed(o) => o.id,
    };
    Ok(created(made, Some(format!("orders/{id}"))))
}

/// `GET /orders/{id}`: its client, its worker, staff, and services.
async fn get(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, OrderingError> {
    Ok(Json(app::order_view(&app, &who, order_id(&id)?).await?))
}

/// The query of `GET /orders`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderListQuery {
    /// Staff only: one client's orders (a client may name only itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// requested, active, in_progress, completed, canceled or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// 1 to 1000 (100 if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// `GET /orders?client_id=&status=&limit=`: latest scheduled first. Clients see their own
/// orders only; staff may filter by client.
async fn list(
    State(app): State<App>,
    who: Principal,
    Query(q): Query<OrderListQuery>,
) -> Result<Json<Vec<Order>>, OrderingError> {
    let orders = app::orders(&app, &who, q.client_id, q.status.as_deref(), q.limit).await?;
    Ok(Json(orders))
}

/// The query of `GET /jobs`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobsQuery {
    /// requested, active, in_progress, completed, canceled or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// 1 to 1000 (100 if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// `GET /jobs?status=`: the calling worker's jobs.
async fn jobs(
    State(app): State<App>,
    who: Principal,
    Query(q): Query<JobsQuery>,
) -> Result<Json<Vec<Order>>, OrderingError> {
    // A worker's id is its account's (issue 10); the route admits workers only.
    let worker = WorkerId::from(who.id);
    Ok(Json(
        app::jobs(&app, worker, q.status.as_deref(), q.limit).await?,
    ))
}

/// `GET /ops/orders`: how many orders are in each status.
async fn counts(State(app): State<App>) -> Result<Json<BTreeMap<String, i64>>, OrderingError> {
    Ok(Json(app::status_counts(&app).await?))
}
