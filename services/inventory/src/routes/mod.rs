//! Inventory's HTTP API, one file per resource: the stock list and its ledger
//! (`/consumables`), bills of materials (`/boms`) and supply kits (`/kits`).

mod boms;
mod consumables;
mod kits;

pub use kits::KitQuery;

use auth::{Access, Role, Routes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::App;
use crate::app::Created;
use crate::error::InventoryError;

/// Supply staff, and managers and admins, who may do what they do.
const SUPPLY: Access = Access::Roles(&[Role::Supply, Role::Manager, Role::Admin]);

/// Every route of Inventory.
pub fn routes() -> Routes<App> {
    Routes::new()
        .include(consumables::routes())
        .include(boms::routes())
        .include(kits::routes())
}

/// The request's `Idempotency-Key`, if it has one (422 naming it if malformed).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, InventoryError> {
    web::idempotency_key(headers).map_err(|m| InventoryError::invalid("Idempotency-Key", m))
}

/// A creation's answer: `status` with the new thing, or the first answer again (same status
/// and body) for a retry with the same `Idempotency-Key`.
fn created<T: Serialize>(created: Created<T>, status: StatusCode) -> Response {
    match created {
        Created::New(thing) => (status, axum::Json(thing)).into_response(),
        Created::Replayed { status, body } => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
    }
}

/// A path id that is not a UUID names nothing: "not found".
fn path_id<T: std::str::FromStr>(id: &str, what: &'static str) -> Result<T, InventoryError> {
    id.parse().map_err(|_| InventoryError::NotFound(what))
}
