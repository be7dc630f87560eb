//! `GET /ops/roster`: the in-memory roster of the process answering, for operators and the
//! chaos checker (comparing replicas, and a process's memory with a fresh load).

use auth::{Access, Role, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use web::Json;

use crate::App;
use crate::domain::roster::RosterView;
use crate::error::MatchingError;

pub fn routes() -> Routes<App> {
    Routes::new().route(
        Route::get("/ops/roster", Access::Roles(&[Role::Admin]))
            .summary(
                "This process's in-memory roster, canonical: every normal sample with its \
                 levels, history and bookings, a SHA-256 digest and counts",
            )
            .returns::<RosterView>(StatusCode::OK),
        roster,
    )
}

async fn roster(State(app): State<App>) -> Result<Json<RosterView>, MatchingError> {
    Ok(Json(app.matcher.view(&app.ctx).await?))
}
