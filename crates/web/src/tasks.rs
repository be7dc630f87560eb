//! `GET /ops/tasks` (admin): the service's background tasks, whether each runs and how often
//! it was started again after a panic (see `messaging::tasks`).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use messaging::tasks::{TaskState, TaskStats};

/// The routes of [`routes`].
pub const ROUTES: &[(&str, &str)] = &[("GET", "/ops/tasks")];

/// `GET /ops/tasks`.
pub fn routes(stats: TaskStats) -> Router {
    Router::new()
        .route("/ops/tasks", get(list))
        .with_state(stats)
}

async fn list(State(stats): State<TaskStats>) -> axum::Json<Vec<TaskState>> {
    axum::Json(stats.snapshot())
}
