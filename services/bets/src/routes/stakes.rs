//! Stakes: placing one, a bet's stakes, a manager's own.

use auth::{Principal, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use contracts::BetId;
use web::{IdempotencyKey, Json, Path};

use super::{MANAGERS, READERS, path_id};
use crate::domain::{NewStake, Stake};
use crate::error::BetsError;
use crate::{App, app};

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::post("/bets/{id}/stakes", MANAGERS)
                .summary(
                    "Stake on an outcome (Idempotency-Key required): charged through \
                     Billing, in the pool once it confirmed (201; a retry 200); 409 \
                     stakes_closed, stake_refused; 503 when Billing or Ordering is down (the \
                     same key again finishes it)",
                )
                .idempotency_key()
                .param::<BetId>("id")
                .body::<NewStake>()
                .returns::<Stake>(StatusCode::CREATED)
                .returns::<Stake>(StatusCode::OK),
            place,
        )
        .route(
            Route::get("/bets/{id}/stakes", READERS)
                .summary("A bet's stakes, earliest first, with their status")
                .param::<BetId>("id")
                .returns::<Vec<Stake>>(StatusCode::OK),
            of_bet,
        )
        .route(
            Route::get("/me/stakes", MANAGERS)
                .summary("The calling manager's stakes, newest first (at most 500)")
                .returns::<Vec<Stake>>(StatusCode::OK),
            mine,
        )
}

async fn place(
    State(app): State<App>,
    who: Principal,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<String>,
    Json(new): Json<NewStake>,
) -> Result<Response, BetsError> {
    // Money moves: the key is what lets a retry after a lost answer find the same stake.
    let key =
        key.ok_or_else(|| BetsError::invalid("Idempotency-Key", "required to place a stake"))?;
    let bet = path_id(&id, "bet")?;
    let placed = app::place_stake(&app, who.id, bet, &key, &new).await?;
    let status = if placed.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(placed.stake)).into_response())
}

async fn of_bet(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Stake>>, BetsError> {
    Ok(Json(app::stakes_of_bet(&app, path_id(&id, "bet")?).await?))
}

async fn mine(State(app): State<App>, who: Principal) -> Result<Json<Vec<Stake>>, BetsError> {
    Ok(Json(app::stakes_of_manager(&app, who.id).await?))
}
