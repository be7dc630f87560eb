//! `/awards`: managers award workers.

use auth::{Access, Principal, Role, Route, Routes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use web::Json;

use crate::domain::{Award, NewAward};
use crate::error::BillingError;
use crate::{App, app};

pub(super) fn routes() -> Routes<App> {
    Routes::new().route(
        Route::post("/awards", Access::Roles(&[Role::Manager, Role::Admin]))
            .summary(
                "Award a worker any amount, with the reason kept (Idempotency-Key required: \
                 the same key answers the first award)",
            )
            .idempotency_key()
            .body::<NewAward>()
            .returns::<Award>(StatusCode::CREATED),
        grant,
    )
}

async fn grant(
    State(app): State<App>,
    who: Principal,
    headers: HeaderMap,
    Json(asked): Json<NewAward>,
) -> Result<Response, BillingError> {
    let key = web::idempotency_key(&headers)?;
    let award = app::grant_award(&app, who.id, key.as_deref(), &asked).await?;
    Ok(award.respond(StatusCode::CREATED))
}
