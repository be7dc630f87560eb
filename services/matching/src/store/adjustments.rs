//! The audit of skill levels (`sample_adjustments`). Its `idempotency_key` column is no
//! longer written: keyed adjustments go through the shared idempotency keys of the unit of
//! work.

use contracts::{AdjustmentId, WorkerId};
use storage::{AnyConnection, AnyRow, Row, micros, time};

use storage::parsed;

use super::Result;
use crate::domain::adjustments::Adjustment;

fn adjustment_of(r: &AnyRow) -> Result<Adjustment> {
    Ok(Adjustment {
        id: parsed(r, "id")?,
        worker_id: parsed(r, "worker_id")?,
        skill: r.get("skill"),
        from: r.get("from_level"),
        to: r.get("to_level"),
        reason: r.get("reason"),
        actor: r.get("actor"),
        at: time(r.get("at")),
    })
}

pub async fn insert(conn: &mut AnyConnection, a: &Adjustment) -> Result<()> {
    storage::query(
        "INSERT INTO sample_adjustments (id, worker_id, skill, from_level, to_level, reason, \
         actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(a.id.to_string())
    .bind(a.worker_id.to_string())
    .bind(&a.skill)
    .bind(a.from)
    .bind(a.to)
    .bind(&a.reason)
    .bind(&a.actor)
    .bind(micros(a.at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Where a page of a worker's adjustments starts: after this one (newest first).
pub struct Cursor {
    pub at: i64,
    pub id: AdjustmentId,
}

/// The cursor after adjustment `id` of `worker_id`; `None` if it is not one of theirs.
pub async fn cursor(
    conn: &mut AnyConnection,
    worker_id: WorkerId,
    id: AdjustmentId,
) -> Result<Option<Cursor>> {
    let at: Option<i64> =
        storage::query("SELECT at FROM sample_adjustments WHERE worker_id = $1 AND id = $2")
            .bind(worker_id.to_string())
            .bind(id.to_string())
            .fetch_optional(conn)
            .await?
            .map(|r| r.get("at"));
    Ok(at.map(|at| Cursor { at, id }))
}

/// Up to `limit` of a worker's adjustments, newest first, after `after` (if given).
pub async fn page(
    conn: &mut AnyConnection,
    worker_id: WorkerId,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Adjustment>> {
    let rows = match after {
        None => {
            storage::query(
                "SELECT * FROM sample_adjustments WHERE worker_id = $1 \
                 ORDER BY at DESC, id DESC LIMIT $2",
            )
            .bind(worker_id.to_string())
            .bind(limit)
            .fetch_all(conn)
            .await?
        }
        Some(c) => {
            storage::query(
                "SELECT * FROM sample_adjustments WHERE worker_id = $1 \
                 AND (at < $2 OR (at = $2 AND id < $3)) ORDER BY at DESC, id DESC LIMIT $4",
            )
            .bind(worker_id.to_string())
            .bind(c.at)
            .bind(c.id.to_string())
            .bind(limit)
            .fetch_all(conn)
            .await?
        }
    };
    rows.iter().map(adjustment_of).collect()
}
