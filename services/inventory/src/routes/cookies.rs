//! The fortune cookies: the contractor's callback, staff re-ordering a failed cookie, and
//! the contractor line's health for admins.

use auth::{Access, Principal, Role, Route, Routes};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use contracts::KitId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use web::{Json, Path};

use super::{SUPPLY, path_id};
use crate::app::KitView;
use crate::contractor::{BreakerView, Delivery, SIGNATURE_HEADER};
use crate::error::InventoryError;
use crate::{App, app};

/// The contractor line as admins see it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ContractorView {
    /// Where the contractor is called.
    pub url: String,
    /// Where it calls back.
    pub callback_url: String,
    pub breaker: BreakerView,
}

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::post("/cookies/callback", Access::Public)
                .summary(
                    "The cookie contractor's callback: a cookie was delivered (or refused). \
                     Signed with X-Cookie-Signature; unsigned or badly signed: 401 \
                     invalid_signature, nothing changes. A repeated callback changes nothing.",
                )
                .body::<Delivery>()
                .returns_empty(StatusCode::NO_CONTENT),
            callback,
        )
        .route(
            Route::post("/kits/{id}/cookie", SUPPLY)
                .summary(
                    "Order a failed fortune cookie again (409 cookie_not_failed unless it \
                     failed)",
                )
                .param::<KitId>("id")
                .returns::<KitView>(StatusCode::OK),
            reorder,
        )
        .route(
            Route::get("/ops/contractor", Access::Roles(&[Role::Admin]))
                .summary("The cookie contractor line: its URLs and circuit breaker")
                .returns::<ContractorView>(StatusCode::OK),
            contractor,
        )
}

async fn callback(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, InventoryError> {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    app::cookie_called_back(&app, &body, signature).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reorder(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<KitView>, InventoryError> {
    Ok(Json(
        app::reorder_cookie(&app, who.id, path_id(&id, "kit")?).await?,
    ))
}

async fn contractor(State(app): State<App>) -> Json<ContractorView> {
    Json(ContractorView {
        url: app.config.contractor_url.clone(),
        callback_url: app::callback_url(&app),
        breaker: app.contractor.breaker_view(),
    })
}
