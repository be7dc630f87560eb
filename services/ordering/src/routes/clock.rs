//! `GET/POST /ops/clock`: business time, movable only where `clock.adjustable` is set
//! (tests of deadlines); see `service::Clock`.

use auth::{Access, Role, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use web::Json;

use crate::error::OrderingError;
use crate::{App, app};

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::get("/ops/clock", Access::Roles(&[Role::Admin]))
                .summary("Business time")
                .returns::<ClockView>(StatusCode::OK),
            show,
        )
        .route(
            Route::post("/ops/clock", Access::Roles(&[Role::Admin]))
                .summary("Move business time forward (where clock.adjustable is set)")
                .body::<Advance>()
                .returns::<ClockView>(StatusCode::OK),
            advance,
        )
}

/// Business time as Ordering sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClockView {
    pub now: chrono::DateTime<chrono::Utc>,
    /// How far business time is ahead of the system clock.
    pub offset_seconds: i64,
    /// Whether `POST /ops/clock` may move it.
    pub adjustable: bool,
}

fn view(app: &App) -> ClockView {
    ClockView {
        now: app.ctx.clock.now(),
        offset_seconds: app.ctx.clock.offset().num_seconds(),
        adjustable: app.ctx.clock.is_adjustable(),
    }
}

async fn show(State(app): State<App>) -> Json<ClockView> {
    Json(view(&app))
}

/// The body of `POST /ops/clock`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    /// How far to move business time forward (not negative).
    pub seconds: i64,
}

/// Moves business time forward by `seconds`, then runs the no-show sweep at once so the
/// effect of the new time is visible when the call returns.
async fn advance(
    State(app): State<App>,
    Json(a): Json<Advance>,
) -> Result<Json<ClockView>, OrderingError> {
    app::advance_clock(&app, a.seconds).await?;
    Ok(Json(view(&app)))
}
