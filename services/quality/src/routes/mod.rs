//! Quality's HTTP API, one file per resource: order files and their photos (`/orders`),
//! the review queue and random samples (`/queue`, `/samples`), reviews (`/reviews`), the
//! register of hypotheses (`/hypotheses`) and the figures (`/figures`). Managers and
//! admins only.

mod figures;
mod hypotheses;
mod orders;
mod queue;
mod reviews;

pub use figures::FiguresQuery;
pub use hypotheses::HypothesisQuery;
pub use orders::OrderQuery;
pub use queue::{DrawRequest, QueueQuery};
pub use reviews::ReviewEdit;

use auth::{Access, Role, Routes};
use axum::http::HeaderMap;
use service::Refused;

use crate::App;
use crate::error::QualityError;

/// Who may use Quality: managers, and admins who may do what they do.
const MANAGERS: Access = Access::Roles(&[Role::Manager, Role::Admin]);

/// Every route of Quality.
pub fn routes() -> Routes<App> {
    Routes::new()
        .include(orders::routes())
        .include(queue::routes())
        .include(reviews::routes())
        .include(hypotheses::routes())
        .include(figures::routes())
}

/// A path id that is not a UUID names nothing: "not found".
fn path_id<T: std::str::FromStr>(id: &str, what: &'static str) -> Result<T, QualityError> {
    id.parse().map_err(|_| Refused::NotFound(what).into())
}

/// The caller's bearer token (already verified by the route's access check), to call
/// Matching and Ordering as the caller.
fn bearer(headers: &HeaderMap) -> Result<&str, QualityError> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(Refused::Forbidden("a bearer token is needed to call other services").into())
}

/// A page size: `limit` within 1..=`max`, `default` when absent.
fn limit(limit: Option<i64>, default: i64, max: i64) -> Result<i64, QualityError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(QualityError::invalid(
            "limit",
            format!("must be 1 to {max}"),
        )),
    }
}
