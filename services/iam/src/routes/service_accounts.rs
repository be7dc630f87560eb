//! `/service-accounts`: confidential clients for service-to-service calls. Admins only.

use auth::{Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use contracts::AccountId;
use serde::{Deserialize, Serialize};
use web::Json;

use super::ADMIN;
use crate::App;
use crate::app::create_service_account::create_service_account;
use crate::error::IamError;

/// `POST /service-accounts`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewServiceAccount {
    /// 1 to 60 letters, digits or dashes; the client id is `svc-<name>`.
    pub name: String,
    /// Services its tokens are for (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
}

/// The credentials of a new service account. The secret is shown once.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServiceAccount {
    pub client_id: String,
    pub client_secret: String,
    pub account_id: AccountId,
}

pub(super) fn routes() -> Routes<App> {
    Routes::new().route(
        Route::post("/service-accounts", ADMIN)
            .summary("Create a service account (client credentials)")
            .body::<NewServiceAccount>()
            .returns::<ServiceAccount>(StatusCode::CREATED),
        create,
    )
}

async fn create(
    State(app): State<App>,
    Json(new): Json<NewServiceAccount>,
) -> Result<(StatusCode, Json<ServiceAccount>), IamError> {
    let made = create_service_account(&app, &new.name, new.audiences).await?;
    Ok((
        StatusCode::CREATED,
        Json(ServiceAccount {
            client_id: made.client_id,
            client_secret: made.client_secret,
            account_id: made.account_id,
        }),
    ))
}
