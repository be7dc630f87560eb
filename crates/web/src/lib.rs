//! HTTP plumbing shared by every MCF service: problem+json errors, a JSON extractor whose
//! rejections name the field, health and readiness, and the messaging operator routes.

mod extract;
pub mod image;
mod json;
pub mod limits;
pub mod ops;
mod problem;
mod surface;
pub mod tasks;
pub mod text;

pub use extract::{Form, Path, Query};
pub use json::Json;
pub use problem::ApiError;
pub use surface::{HTML_CSP, harden};

use axum::Router;
use axum::routing::get;

/// `/health` (the process answers) and `/ready` (its database answers).
pub fn health_routes(db: storage::Db) -> Router {
    Router::new()
        .route(
            "/health",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route(
            "/ready",
            get(move || {
                let db = db.clone();
                async move {
                    match storage::query("SELECT 1").execute(db.pool()).await {
                        Ok(_) => Ok(axum::Json(serde_json::json!({"status": "ready"}))),
                        Err(e) => Err(ApiError::unavailable(format!("database: {e}"))),
                    }
                }
            }),
        )
}

/// A built service: its HTTP routes and the background tasks (relay, consumers, ...) that
/// must run beside them until shutdown, each restartable (the composition supervises them
/// and records their restarts in `task_stats`, shown by `GET /ops/tasks`).
pub struct Service {
    pub name: &'static str,
    pub router: Router,
    pub tasks: Vec<messaging::Task>,
    pub task_stats: messaging::tasks::TaskStats,
    /// Who may call each route: the service's authorization matrix, as enforced.
    pub authz: Vec<RouteRule>,
}

/// One row of an authorization matrix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct RouteRule {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The route's path pattern within the service, e.g. `/orders/{id}`.
    pub path: String,
    /// `None`: public. `Some([])`: any signed-in caller. Otherwise the roles allowed.
    pub roles: Option<Vec<String>>,
}

/// The routes of [`health_routes`].
pub const HEALTH_ROUTES: &[(&str, &str)] = &[("GET", "/health"), ("GET", "/ready")];

/// The request's `Idempotency-Key` header, if any: 1 to 200 visible ASCII characters
/// (trimmed). The error is the message for a 422 naming `Idempotency-Key`.
pub fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, &'static str> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .map(|k| Some(k.to_owned()))
        .ok_or("must be 1 to 200 visible ASCII characters")
}
