//! `/figures`: failure and cancellation rates for managers.

use auth::{Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use web::{Json, Query};

use super::MANAGERS;
use crate::domain::{Figure, GroupBy};
use crate::error::QualityError;
use crate::{App, app};

/// The longest period one request may cover.
const MAX_DAYS: i64 = 366;

pub(super) fn routes() -> Routes<App> {
    Routes::new().route(
        Route::get("/figures", MANAGERS)
            .summary(
                "Failure and cancellation rates of finished orders by worker, service type \
                 or ISO week, over a scheduled period (the last 12 weeks by default)",
            )
            .query::<FiguresQuery>()
            .returns::<Vec<Figure>>(StatusCode::OK),
        figures,
    )
}

/// The query of `GET /figures`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FiguresQuery {
    pub by: GroupBy,
    /// Orders scheduled at or after (RFC 3339); 12 weeks before `to` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// Orders scheduled before (RFC 3339); a day from now by default. At most 366 days
    /// after `from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
}

async fn figures(
    State(app): State<App>,
    Query(q): Query<FiguresQuery>,
) -> Result<Json<Vec<Figure>>, QualityError> {
    let now = app.ctx.clock.now();
    let to = match q.to {
        Some(to) => to,
        None => now.checked_add_signed(Duration::days(1)).unwrap_or(now),
    };
    let from = match q.from {
        Some(from) => from,
        None => to
            .checked_sub_signed(Duration::weeks(12))
            .ok_or_else(|| QualityError::invalid("to", "is out of range"))?,
    };
    if to < from {
        return Err(QualityError::invalid("to", "must not be before from"));
    }
    if to - from > Duration::days(MAX_DAYS) {
        return Err(QualityError::invalid(
            "to",
            format!("the period may cover at most {MAX_DAYS} days"),
        ));
    }
    Ok(Json(app::figures(&app, q.by, from, to).await?))
}
