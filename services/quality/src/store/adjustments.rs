//! Adjustments of workers asked of Matching from reviews.

use chrono::{DateTime, Utc};
use storage::{AnyConnection, AnyRow, DbError, Row};
use uuid::Uuid;

use super::{Result, uuid};
use crate::domain::{AdjustmentState, WorkerAdjustment};

const COLUMNS: &str = "review_id, skill, delta, worker_id, reason, state, \
    matching_adjustment_id, level_from, level_to, adjusted_by, adjusted_at";

fn adjustment_of(r: &AnyRow) -> Result<WorkerAdjustment> {
    let state: String = r.get("state");
    Ok(WorkerAdjustment {
        review_id: uuid(r, "review_id")?,
        worker_id: storage::parsed(r, "worker_id")?,
        skill: r.get("skill"),
        delta: r.get("delta"),
        reason: r.get("reason"),
        state: match state.as_str() {
            "pending" => AdjustmentState::Pending,
            "done" => AdjustmentState::Done,
            other => return Err(DbError::undecodable(format!("adjustment state {other:?}"))),
        },
        matching_adjustment_id: storage::parsed_opt(r, "matching_adjustment_id")?,
        level_from: r.get("level_from"),
        level_to: r.get("level_to"),
        adjusted_by: storage::parsed(r, "adjusted_by")?,
        adjusted_at: storage::time(r.get("adjusted_at")),
    })
}

/// The adjustment of `skill` made (or being made) from review `review`.
pub async fn adjustment(
    conn: &mut AnyConnection,
    review: Uuid,
    skill: &str,
) -> Result<Option<WorkerAdjustment>> {
    storage::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM adjustments WHERE review_id = $1 AND skill = $2"
    )))
    .bind(review.to_string())
    .bind(skill)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(adjustment_of)
    .transpose()
}

/// Every adjustment made from review `review`.
pub async fn adjustments_of(
    conn: &mut AnyConnection,
    review: Uuid,
) -> Result<Vec<WorkerAdjustment>> {
    storage::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM adjustments WHERE review_id = $1 ORDER BY adjusted_at, skill"
    )))
    .bind(review.to_string())
    .fetch_all(conn)
    .await?
    .iter()
    .map(adjustment_of)
    .collect()
}

/// Claims the adjustment (state `pending`) unless the review has one of that skill
/// (`false` then).
pub async fn claim_adjustment(conn: &mut AnyConnection, a: &WorkerAdjustment) -> Result<bool> {
    Ok(storage::query(
        "INSERT INTO adjustments (review_id, skill, delta, worker_id, reason, state, \
         adjusted_by, adjusted_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) \
         ON CONFLICT (review_id, skill) DO NOTHING",
    )
    .bind(a.review_id.to_string())
    .bind(&a.skill)
    .bind(a.delta)
    .bind(a.worker_id.to_string())
    .bind(&a.reason)
    .bind(a.adjusted_by.to_string())
    .bind(storage::micros(a.adjusted_at))
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Drops a pending claim (Matching refused or did not answer: nothing was changed).
pub async fn drop_adjustment(conn: &mut AnyConnection, review: Uuid, skill: &str) -> Result<()> {
    storage::query(
        "DELETE FROM adjustments WHERE review_id = $1 AND skill = $2 AND state = 'pending'",
    )
    .bind(review.to_string())
    .bind(skill)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records what Matching applied.
pub async fn finish_adjustment(
    conn: &mut AnyConnection,
    review: Uuid,
    skill: &str,
    matching_id: Uuid,
    from: Option<i64>,
    to: Option<i64>,
    at: DateTime<Utc>,
) -> Result<()> {
    storage::query(
        "UPDATE adjustments SET state = 'done', matching_adjustment_id = $1, level_from = $2, \
         level_to = $3, adjusted_at = $4 WHERE review_id = $5 AND skill = $6",
    )
    .bind(matching_id.to_string())
    .bind(from)
    .bind(to)
    .bind(storage::micros(at))
    .bind(review.to_string())
    .bind(skill)
    .execute(conn)
    .await?;
    Ok(())
}
