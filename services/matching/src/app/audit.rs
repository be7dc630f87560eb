//! The audit of a worker's skill levels, newest first, a page at a time.

use contracts::{AdjustmentId, WorkerId};
use service::Refused;

use crate::App;
use crate::domain::adjustments::Adjustment;
use crate::error::MatchingError;
use crate::store;

/// Largest page of `GET /normal-samples/{id}/adjustments`.
pub const MAX_PAGE: i64 = 200;

/// `limit` entries (default 50, at most [`MAX_PAGE`]) after the entry `after` (the last id
/// of the previous page).
pub async fn adjustments(
    app: &App,
    worker_id: WorkerId,
    limit: Option<i64>,
    after: Option<AdjustmentId>,
) -> Result<Vec<Adjustment>, MatchingError> {
    let limit = limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(MatchingError::invalid(
            "limit",
            &format!("must be 1 to {MAX_PAGE}"),
        ));
    }
    let mut conn = app.ctx.db.pool().acquire().await?;
    if store::samples::get(&mut conn, worker_id).await?.is_none() {
        return Err(Refused::NotFound("normal sample").into());
    }
    let after = match after {
        None => None,
        Some(a) => Some(
            store::adjustments::cursor(&mut conn, worker_id, a)
                .await?
                .ok_or_else(|| {
                    MatchingError::invalid("after", "is not an adjustment of this worker")
                })?,
        ),
    };
    Ok(store::adjustments::page(&mut conn, worker_id, after.as_ref(), limit).await?)
}
