//! The operator and probe routes every service carries: messaging counters, dead letters
//! and their replay, background tasks (admins), health and readiness (public).

use auth::{Access, Role, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use messaging::Consumer;
use messaging::dead_letter::{self, DeadLetter, ReplayError};
use messaging::stats::MessagingStats;
use messaging::tasks::{TaskState, TaskStats};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use storage::Db;
use web::{ApiError, Path, Query};

const ADMIN: Access = Access::Roles(&[Role::Admin]);

#[derive(Clone)]
struct Ops {
    db: Db,
    consumers: std::sync::Arc<[Consumer]>,
    probe: crate::metrics::Probe,
}

/// The query of `GET /ops/dead-letters`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct DeadLetterQuery {
    /// Also those already replayed (default: only the pending ones).
    #[serde(default)]
    pub all: bool,
}

/// The answer of `GET /health` and `GET /ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    /// `ok` (the process answers) or `ready` (its database answers too).
    pub status: String,
}

/// `GET /ops/messaging`, `GET /ops/dead-letters[?all=true]`,
/// `POST /ops/dead-letters/{id}/replay`, for admins.
///
/// `/ops/messaging` also reads each consumer's lag on the bus through `probe`.
pub fn messaging_routes(db: Db, consumers: Vec<Consumer>, probe: crate::metrics::Probe) -> Routes {
    Routes::new()
        .route(
            Route::get("/ops/messaging", ADMIN)
                .summary("Outbox, inbox and dead-letter counts, and each consumer's lag")
                .returns::<MessagingStats>(StatusCode::OK),
            messaging_stats,
        )
        .route(
            Route::get("/ops/dead-letters", ADMIN)
                .summary("Events parked after failing their consumer")
                .query::<DeadLetterQuery>()
                .returns::<Vec<DeadLetter>>(StatusCode::OK),
            list_dead_letters,
        )
        .route(
            Route::post("/ops/dead-letters/{id}/replay", ADMIN)
                .summary("Apply a dead letter again through its consumer")
                .returns_empty(StatusCode::NO_CONTENT),
            replay,
        )
        .with_state(Ops {
            db,
            consumers: consumers.into(),
            probe,
        })
}

async fn messaging_stats(State(ops): State<Ops>) -> Result<axum::Json<MessagingStats>, ApiError> {
    let stats = ops
        .probe
        .stats()
        .await
        .map_err(|e| ApiError::internal_because(format!("{e:#}")))?;
    Ok(axum::Json(stats))
}

async fn list_dead_letters(
    State(ops): State<Ops>,
    Query(q): Query<DeadLetterQuery>,
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

/// `GET /ops/tasks`, for admins: the service's background tasks, whether each runs and how
/// often it was started again after a panic (see `messaging::tasks`).
pub fn task_routes(stats: TaskStats) -> Routes {
    Routes::new()
        .route(
            Route::get("/ops/tasks", ADMIN)
                .summary("Background tasks and their restarts")
                .returns::<Vec<TaskState>>(StatusCode::OK),
            list_tasks,
        )
        .with_state(stats)
}

async fn list_tasks(State(stats): State<TaskStats>) -> axum::Json<Vec<TaskState>> {
    axum::Json(stats.snapshot())
}

/// `/health` (the process answers) and `/ready` (its database answers), public.
pub fn health_routes(db: Db) -> Routes {
    Routes::new()
        .route(
            Route::get("/health", Access::Public)
                .summary("The process answers")
                .returns::<Health>(StatusCode::OK),
            || async {
                axum::Json(Health {
                    status: "ok".into(),
                })
            },
        )
        .route(
            Route::get("/ready", Access::Public)
                .summary("The service's database answers")
                .returns::<Health>(StatusCode::OK),
            ready,
        )
        .with_state(db)
}

async fn ready(State(db): State<Db>) -> Result<axum::Json<Health>, ApiError> {
    match storage::query("SELECT 1").execute(db.pool()).await {
        Ok(_) => Ok(axum::Json(Health {
            status: "ready".into(),
        })),
        Err(e) => Err(ApiError::unavailable(format!("database: {e}"))),
    }
}
