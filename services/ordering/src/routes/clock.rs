//! `GET/POST /ops/clock`: business time, movable only where `clock.adjustable` is set
//! (tests of deadlines); see `service::Clock`.

use auth::{Access, Role, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
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

pub use service::clock::{Advance, ClockView};

fn view(app: &App) -> ClockView {
    ClockView::of(&app.ctx.clock)
}

async fn show(State(app): State<App>) -> Json<ClockView> {
    Json(view(&app))
}

/// Moves business time forward (a step, or to an offset: a retry of that moves it once),
/// then runs the no-show sweep at once so the effect of the new time is visible when the
/// call returns.
async fn advance(
    State(app): State<App>,
    Json(a): Json<Advance>,
) -> Result<Json<ClockView>, OrderingError> {
    app::advance_clock(&app, &a).await?;
    Ok(Json(view(&app)))
}
