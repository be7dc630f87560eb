//! Statements: everyone's own (`/me/...`), any account's for managers and admins, and the
//! period summary.

use auth::{Access, Principal, Role, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use web::{Json, Path, Query};

use super::{STAFF, path_account, reader};
use crate::app::{Statement, Summary, Upcoming};
use crate::domain::PeriodKind;
use crate::error::BillingError;
use crate::{App, app};

/// Which period a summary covers: the week or month (default) that `at` (default now)
/// falls in.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    pub period: Option<PeriodKind>,
    pub at: Option<DateTime<Utc>>,
}

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::get("/me/statements", Access::SignedIn)
                .summary("The caller's statements: one per account held (client, worker, manager)")
                .returns::<Vec<Statement>>(StatusCode::OK),
            mine,
        )
        .route(
            Route::get("/me/upcoming", Access::Roles(&[Role::Client]))
                .summary("What the calling client will owe at the end of the current week")
                .returns::<Upcoming>(StatusCode::OK),
            upcoming,
        )
        .route(
            Route::get("/accounts/{account}/statement", Access::SignedIn)
                .summary(
                    "An account's statement (`client:<id>`, `revenue`, ...): its holder's, \
                     anyone's for managers and admins; 404 for anyone else",
                )
                .param::<String>("account")
                .returns::<Statement>(StatusCode::OK),
            statement,
        )
        .route(
            Route::get("/summary", STAFF)
                .summary("A week's or month's revenue, worker earnings, penalties, awards, margin")
                .query::<SummaryQuery>()
                .returns::<Summary>(StatusCode::OK),
            summary,
        )
}

async fn mine(
    State(app): State<App>,
    who: Principal,
) -> Result<Json<Vec<Statement>>, BillingError> {
    Ok(Json(app::my_statements(&app, who.id).await?))
}

async fn upcoming(State(app): State<App>, who: Principal) -> Result<Json<Upcoming>, BillingError> {
    Ok(Json(app::upcoming(&app, who.id).await?))
}

async fn statement(
    State(app): State<App>,
    who: Principal,
    Path(account): Path<String>,
) -> Result<Json<Statement>, BillingError> {
    Ok(Json(
        app::statement(&app, reader(&who), path_account(&account)?).await?,
    ))
}

async fn summary(
    State(app): State<App>,
    Query(q): Query<SummaryQuery>,
) -> Result<Json<Summary>, BillingError> {
    let at = q.at.unwrap_or_else(|| app.ctx.clock.now());
    Ok(Json(
        app::summary(&app, q.period.unwrap_or(PeriodKind::Month), at).await?,
    ))
}
