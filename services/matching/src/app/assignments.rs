//! Reference samples as managers and operators read them.

use std::collections::BTreeMap;

use contracts::OrderId;
use service::Refused;

use crate::App;
use crate::domain::samples::Assignment;
use crate::error::MatchingError;
use crate::store;

/// `GET /reference-samples/{order_id}`: the order's match, with every step's scores.
pub async fn assignment(app: &App, order_id: OrderId) -> Result<Assignment, MatchingError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    store::references::assignment(&mut conn, order_id)
        .await?
        .ok_or(Refused::NotFound("reference sample").into())
}

/// `GET /ops/reference-samples`: how many orders wait, are assigned, ended, by status.
pub async fn counts(app: &App) -> Result<BTreeMap<String, i64>, MatchingError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    Ok(store::references::count_by_status(&mut conn).await?)
}
