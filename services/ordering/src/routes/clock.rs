//! `GET/POST /ops/clock`: business time, movable only where `clock.adjustable` is set
//! (tests of deadlines); see `service::Clock`.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use web::Json;

use crate::App;
use crate::error::OrderingError;

#[derive(Serialize)]
pub struct ClockView {
    now: chrono::DateTime<chrono::Utc>,
    offset_seconds: i64,
    adjustable: bool,
}

fn view(app: &App) -> ClockView {
    ClockView {
        now: app.rt.clock.now(),
        offset_seconds: app.rt.clock.offset().num_seconds(),
        adjustable: app.rt.clock.is_adjustable(),
    }
}

pub async fn show(State(app): State<App>) -> Json<ClockView> {
    Json(view(&app))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    seconds: i64,
}

/// Moves business time forward by `seconds`, then runs the no-show sweep at once so the
/// effect of the new time is visible when the call returns.
pub async fn advance(
    State(app): State<App>,
    Json(a): Json<Advance>,
) -> Result<Json<ClockView>, OrderingError> {
    use service::clock::ClockError;
    // `Duration::seconds` panics past ±i64::MAX / 1000: build it checked, and let the clock
    // refuse anything beyond its bounds.
    let by = chrono::Duration::try_seconds(a.seconds).ok_or(ClockError::StepTooLarge);
    by.and_then(|by| app.rt.clock.advance(by))
        .map_err(|e| match e {
            ClockError::Fixed => OrderingError::Refused {
                code: "clock_fixed",
                message: e.to_string(),
            },
            ClockError::Backwards => OrderingError::invalid("seconds", "must not be negative"),
            ClockError::StepTooLarge | ClockError::PastTheEnd => {
                OrderingError::invalid("seconds", &e.to_string())
            }
        })?;
    crate::noshow::sweep(&app).await?;
    Ok(Json(view(&app)))
}
