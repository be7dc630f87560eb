//! `/bets/...`: Bets' synchronous calls with its service token (client credentials): a
//! stake charged, a winning paid, an unwon pool moved to the developers' fund. Each takes
//! an `Idempotency-Key` (required; Bets sends its stake's or payout's id).

use auth::{Access, Principal, Role, Route, Routes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use web::Json;

use crate::domain::{BetBooking, StakeCharge, Unwon, Winning};
use crate::error::BillingError;
use crate::{App, app};

/// Other MCF services (Bets) calling with their own account's token.
const SERVICES: Access = Access::Roles(&[Role::Service]);

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::post("/bets/stakes", SERVICES)
                .summary("Charge a manager's stake into the bet's pool")
                .idempotency_key()
                .body::<StakeCharge>()
                .returns::<BetBooking>(StatusCode::CREATED),
            stake,
        )
        .route(
            Route::post("/bets/payouts", SERVICES)
                .summary("Pay a winner's share from the bet's pool (at most what it holds)")
                .idempotency_key()
                .body::<Winning>()
                .returns::<BetBooking>(StatusCode::CREATED),
            winning,
        )
        .route(
            Route::post("/bets/unwon", SERVICES)
                .summary("Move what nobody won of a bet's pool to the developers' fund")
                .idempotency_key()
                .body::<Unwon>()
                .returns::<BetBooking>(StatusCode::CREATED),
            unwon,
        )
}

async fn stake(
    State(app): State<App>,
    who: Principal,
    headers: HeaderMap,
    Json(stake): Json<StakeCharge>,
) -> Result<Response, BillingError> {
    let key = web::idempotency_key(&headers)?;
    let booked = app::charge_stake(&app, who.id, key.as_deref(), &stake).await?;
    Ok(booked.respond(StatusCode::CREATED))
}

async fn winning(
    State(app): State<App>,
    who: Principal,
    headers: HeaderMap,
    Json(winning): Json<Winning>,
) -> Result<Response, BillingError> {
    let key = web::idempotency_key(&headers)?;
    let booked = app::pay_winning(&app, who.id, key.as_deref(), &winning).await?;
    Ok(booked.respond(StatusCode::CREATED))
}

async fn unwon(
    State(app): State<App>,
    who: Principal,
    headers: HeaderMap,
    Json(unwon): Json<Unwon>,
) -> Result<Response, BillingError> {
    let key = web::idempotency_key(&headers)?;
    let booked = app::move_unwon(&app, who.id, key.as_deref(), &unwon).await?;
    Ok(booked.respond(StatusCode::CREATED))
}
