//! `GET/POST /ops/clock`: Billing's business time, movable only where `clock.adjustable` is
//! set (tests of the cycles); see `service::Clock`.

use auth::{Access, Role, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use service::clock::{Advance, ClockView};
use web::Json;

use crate::error::BillingError;
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
                .summary(
                    "Move business time forward (where clock.adjustable is set); the periods \
                     it ends run at once",
                )
                .body::<Advance>()
                .returns::<ClockView>(StatusCode::OK),
            advance,
        )
}

async fn show(State(app): State<App>) -> Json<ClockView> {
    Json(ClockView::of(&app.ctx.clock))
}

async fn advance(
    State(app): State<App>,
    Json(a): Json<Advance>,
) -> Result<Json<ClockView>, BillingError> {
    app::advance_clock(&app, &a).await?;
    Ok(Json(ClockView::of(&app.ctx.clock)))
}
