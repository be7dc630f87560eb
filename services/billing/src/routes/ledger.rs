//! The whole ledger, for managers and admins: the trial balance.

use auth::{Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use web::Json;

use super::STAFF;
use crate::app::TrialBalance;
use crate::error::BillingError;
use crate::{App, app};

pub(super) fn routes() -> Routes<App> {
    Routes::new().route(
        Route::get("/trial-balance", STAFF)
            .summary("Every account's balance and their sum, which is always zero")
            .returns::<TrialBalance>(StatusCode::OK),
        trial_balance,
    )
}

async fn trial_balance(State(app): State<App>) -> Result<Json<TrialBalance>, BillingError> {
    Ok(Json(app::trial_balance(&app).await?))
}
