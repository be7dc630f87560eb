//! Invoices (`/me/invoices`, `/invoices/{id}`, `/invoices`), what a person gives MCF for the
//! bank (`/me/bank`), and the bank line for admins (`/ops/bank`).

use auth::{Access, Principal, Role, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use web::{Json, Path};

use super::{STAFF, reader};
use crate::app::{BankDetailsView, BankView};
use crate::domain::Invoice;
use crate::error::BillingError;
use crate::{App, app};

/// Those who give MCF bank details: clients (a payment method), workers (an account).
const BANKED: Access = Access::Roles(&[Role::Client, Role::Worker]);

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::get("/me/invoices", Access::SignedIn)
                .summary("The caller's invoices with their status, newest period first")
                .returns::<Vec<Invoice>>(StatusCode::OK),
            mine,
        )
        .route(
            Route::get("/invoices", STAFF)
                .summary("Every invoice, newest period first (the latest 200)")
                .returns::<Vec<Invoice>>(StatusCode::OK),
            all,
        )
        .route(
            Route::get("/invoices/{id}", Access::SignedIn)
                .summary(
                    "An invoice with the entries it covers: its holder's, anyone's for managers \
                     and admins; 404 for anyone else",
                )
                .param::<String>("id")
                .returns::<Invoice>(StatusCode::OK),
            one,
        )
        .route(
            Route::get("/me/bank", BANKED)
                .summary("What the caller gave MCF for the bank")
                .returns::<BankDetailsView>(StatusCode::OK),
            bank_details,
        )
        .route(
            Route::put("/me/bank", BANKED)
                .summary(
                    "Gives MCF the caller's payment method token (clients: invoices are \
                     collected from it) and bank account number (workers: paid out to it)",
                )
                .body::<BankDetailsView>()
                .returns::<BankDetailsView>(StatusCode::OK),
            set_bank_details,
        )
        .route(
            Route::get("/ops/bank", Access::Roles(&[Role::Admin]))
                .summary("The bank line: its URL, circuit breaker, invoices by status, in doubt")
                .returns::<BankView>(StatusCode::OK),
            bank,
        )
}

async fn mine(State(app): State<App>, who: Principal) -> Result<Json<Vec<Invoice>>, BillingError> {
    Ok(Json(app::invoices(&app, Some(who.id)).await?))
}

async fn all(State(app): State<App>) -> Result<Json<Vec<Invoice>>, BillingError> {
    Ok(Json(app::invoices(&app, None).await?))
}

async fn one(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<Invoice>, BillingError> {
    Ok(Json(app::invoice(&app, reader(&who), &id).await?))
}

async fn bank_details(
    State(app): State<App>,
    who: Principal,
) -> Result<Json<BankDetailsView>, BillingError> {
    Ok(Json(app::bank_details(&app, who.id).await?))
}

async fn set_bank_details(
    State(app): State<App>,
    who: Principal,
    Json(details): Json<BankDetailsView>,
) -> Result<Json<BankDetailsView>, BillingError> {
    Ok(Json(app::set_bank_details(&app, who.id, details).await?))
}

async fn bank(State(app): State<App>) -> Result<Json<BankView>, BillingError> {
    Ok(Json(app::bank_view(&app).await?))
}
