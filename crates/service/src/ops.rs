//! The operator and probe routes every service carries: messaging counters, dead letters
//! and their replay, background tasks (admins), health and readiness (public).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use messaging::Consumer;
use messaging::dead_letter::{self, DeadLetter, ReplayError};
use messaging::stats::{self, MessagingStats};
use messaging::tasks::{TaskState, TaskStats};
use serde::Deserialize;
use storage::Db;
use web::{ApiError, Path, Query};

#[derive(Clone)]
struct Ops {
    db: Db,
    consumers: std::sync::Arc<Vec<Consumer>>,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    all: bool,
}

/// The routes of [`messaging_routes`].
pub const MESSAGING_ROUTES: &[(&str, &str)] = &[
    ("GET", "/ops/messaging"),
    ("GET", "/ops/dead-letters"),
    ("POST", "/ops/dead-letters/{id}/replay"),
];

/// `GET /ops/messaging`, `GET /ops/dead-letters[?all=true]`,
/// `POST /ops/dead-letters/{id}/replay`.
pub fn messaging_routes(db: Db, consumers: Vec<Consumer>) -> Router {
    Router::new()
        .route("/ops/messaging", get(messaging_stats))
        .route("/ops/dead-letters", get(list_dead_letters))
        .route("/ops/dead-letters/{id}/replay", post(replay))
        .with_state(Ops {
            db,
            consumers: std::sync::Arc::new(consumers),
        })
}

async fn messaging_stats(State(ops): State<Ops>) -> Result<axum::Json<MessagingStats>, ApiError> {
    let stats = stats::read(&ops.db)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(axum::Json(stats))
}

async fn list_dead_letters(
    State(ops): State<Ops>,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Vec<DeadLetter>>, ApiError> {
    let letters = dead_letter::list(&ops.db, !q.all)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(axum::Json(letters))
}

async fn replay(State(ops): State<Ops>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    match dead_letter::replay(&ops.db, &ops.consumers, &id).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(e @ ReplayError::NotFound(_)) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            e.to_string(),
        )),
        Err(e @ ReplayError::AlreadyReplayed(_)) => {
            Err(ApiError::conflict("already_replayed", e.to_string()))
        }
        Err(e @ ReplayError::HandlerFailed(_)) => {
            Err(ApiError::conflict("replay_failed", e.to_string()))
        }
        Err(e) => Err(ApiError::internal(&e)),
    }
}

/// The routes of [`task_routes`].
pub const TASK_ROUTES: &[(&str, &str)] = &[("GET", "/ops/tasks")];

/// `GET /ops/tasks`: the service's background tasks, whether each runs and how often it was
/// started again after a panic (see `messaging::tasks`).
pub fn task_routes(stats: TaskStats) -> Router {
    Router::new()
        .route("/ops/tasks", get(list_tasks))
        .with_state(stats)
}

async fn list_tasks(State(stats): State<TaskStats>) -> axum::Json<Vec<TaskState>> {
    axum::Json(stats.snapshot())
}

/// The routes of [`health_routes`].
pub const HEALTH_ROUTES: &[(&str, &str)] = &[("GET", "/health"), ("GET", "/ready")];

/// `/health` (the process answers) and `/ready` (its database answers).
pub fn health_routes(db: Db) -> Router {
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
