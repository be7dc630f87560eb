//! Reference samples: the orders Matching matched, as managers and operators read them.

use std::collections::BTreeMap;

use auth::{Access, Role, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use contracts::OrderId;
use web::{Json, Path};

use super::STAFF;
use crate::App;
use crate::app::assignments;
use crate::domain::samples::Assignment;
use crate::error::MatchingError;

pub fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::get("/reference-samples/{order_id}", Access::Roles(STAFF))
                .summary("An order's match, with every step's scores")
                .param::<OrderId>("order_id")
                .returns::<Assignment>(StatusCode::OK),
            get,
        )
        .route(
            Route::get("/ops/reference-samples", Access::Roles(&[Role::Admin]))
                .summary("How many orders wait, are assigned or ended, by status")
                .returns::<BTreeMap<String, i64>>(StatusCode::OK),
            counts,
        )
}

async fn get(
    State(app): State<App>,
    Path(order_id): Path<OrderId>,
) -> Result<Json<Assignment>, MatchingError> {
    Ok(Json(assignments::assignment(&app, order_id).await?))
}

async fn counts(State(app): State<App>) -> Result<Json<BTreeMap<String, i64>>, MatchingError> {
    Ok(Json(assignments::counts(&app).await?))
}
