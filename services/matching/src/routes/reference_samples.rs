use std::collections::BTreeMap;

use axum::extract::State;
use contracts::OrderId;
use web::{Json, Path};

use crate::App;
use crate::error::MatchingError;
use crate::store::{self, Assignment};

/// `GET /reference-samples/{order_id}`: the order's match, with every step's scores.
pub async fn get(
    State(app): State<App>,
    Path(order_id): Path<OrderId>,
) -> Result<Json<Assignment>, MatchingError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    store::assignment(&mut conn, order_id)
        .await?
        .map(Json)
        .ok_or(MatchingError::NotFound("reference sample"))
}

/// `GET /ops/reference-samples`: how many orders wait and how many are assigned.
pub async fn counts(State(app): State<App>) -> Result<Json<BTreeMap<String, i64>>, MatchingError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    Ok(Json(store::count_by_status(&mut conn).await?))
}
