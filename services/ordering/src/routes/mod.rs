//! Ordering's HTTP API and who may call it: one file per resource, each declaring its
//! routes (access, what they take and answer) and calling `app/`.

mod clock;
mod lifecycle;
mod orders;
mod service_types;

pub use clock::{Advance, ClockView};
pub use lifecycle::{CancelRequest, CheckInRequest, CompleteRequest, RebookRequest};
pub use orders::JobsQuery;
pub use orders::OrderListQuery;
pub use service_types::ServiceTypeListQuery;

use auth::{Role, Routes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use contracts::{OrderId, ServiceTypeId};
use serde::Serialize;
use service::Refused;
use uuid::Uuid;
use web::Json;

use crate::App;
use crate::app::Created;
use crate::error::OrderingError;

const STAFF: &[Role] = crate::app::STAFF;
const CLIENT_OR_STAFF: &[Role] = &[Role::Client, Role::Manager, Role::Admin];
const PARTIES: &[Role] = &[Role::Client, Role::Worker, Role::Manager, Role::Admin];
/// An order's parties, and other services reading it with their own token (Bets asks an
/// order's status when a bet opens, a stake comes and a bet closes).
const PARTIES_AND_SERVICES: &[Role] = &[
    Role::Client,
    Role::Worker,
    Role::Manager,
    Role::Admin,
    Role::Service,
];

/// Every route of Ordering, its handlers given `app`.
pub fn routes(app: App) -> Routes {
    Routes::new()
        .include(service_types::routes())
        .include(orders::routes())
        .include(lifecycle::routes())
        .include(clock::routes())
        .with_state(app)
}

/// An order id from the path; a malformed one is simply not found. Any form of UUID is
/// taken, as before ids were typed.
fn order_id(id: &str) -> Result<OrderId, OrderingError> {
    Uuid::parse_str(id)
        .map(OrderId::from_uuid)
        .map_err(|_| Refused::NotFound("order").into())
}

/// A service type id from the path; a malformed one is not found either.
fn service_type_id(id: &str) -> Result<ServiceTypeId, OrderingError> {
    Uuid::parse_str(id)
        .map(ServiceTypeId::from_uuid)
        .map_err(|_| Refused::NotFound("service type").into())
}

/// 201 with what was made, or 200 with what a retry made before; `location` (relative to
/// the API) names it when given.
fn created<T: Serialize>(created: Created<T>, location: Option<String>) -> Response {
    let (status, body) = match created {
        Created::New(body) => (StatusCode::CREATED, body),
        Created::Replayed(body) => (StatusCode::OK, body),
    };
    let mut response = (status, Json(body)).into_response();
    if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
