//! `/bets`: opening, listing, reading and closing bets.

use auth::{Principal, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use contracts::BetId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use web::{IdempotencyKey, Json, Path, Query};

use super::{MANAGERS, READERS, path_id};
use crate::app::{BetView, NewBet};
use crate::domain::BetState;
use crate::error::BetsError;
use crate::{App, app};

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::post("/bets", MANAGERS)
                .summary(
                    "Open a bet on an order Ordering says is active or in progress (one bet \
                     per order; 409 order_not_active, bet_exists)",
                )
                .idempotency_key()
                .body::<NewBet>()
                .returns::<BetView>(StatusCode::CREATED)
                .returns::<BetView>(StatusCode::OK),
            open,
        )
        .route(
            Route::get("/bets", READERS)
                .summary(
                    "Bets, newest first (at most 200): pools per outcome, and once closed \
                     the outcome and each payout",
                )
                .query::<BetQuery>()
                .returns::<Vec<BetView>>(StatusCode::OK),
            list,
        )
        .route(
            Route::get("/bets/{id}", READERS)
                .summary("A bet with its pools and payouts")
                .param::<BetId>("id")
                .returns::<BetView>(StatusCode::OK),
            get,
        )
        .route(
            Route::post("/bets/{id}/close", MANAGERS)
                .summary(
                    "Close a bet once its order is final (409 order_not_final): winners share \
                     the pool, nobody won: the developers' fund; payouts booked through \
                     Billing once (503 when it is down: closing again finishes it)",
                )
                .param::<BetId>("id")
                .returns::<BetView>(StatusCode::OK),
            close,
        )
}

/// The query of `GET /bets`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BetQuery {
    /// Only bets in this state (open, settling, settled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<BetState>,
}

async fn open(
    State(app): State<App>,
    who: Principal,
    key: IdempotencyKey,
    Json(new): Json<NewBet>,
) -> Result<Response, BetsError> {
    Ok(app::open_bet(&app, who.id, &new, key.as_deref())
        .await?
        .respond(StatusCode::CREATED))
}

async fn list(
    State(app): State<App>,
    Query(query): Query<BetQuery>,
) -> Result<Json<Vec<BetView>>, BetsError> {
    Ok(Json(app::bets(&app, query.state).await?))
}

async fn get(State(app): State<App>, Path(id): Path<String>) -> Result<Json<BetView>, BetsError> {
    Ok(Json(app::bet_view(&app, path_id(&id, "bet")?).await?))
}

async fn close(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<BetView>, BetsError> {
    Ok(Json(
        app::close_bet(&app, who.id, path_id(&id, "bet")?).await?,
    ))
}
