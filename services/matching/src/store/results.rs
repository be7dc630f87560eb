//! How workers' orders ended (`sample_results`), one row per order.

use chrono::{DateTime, Utc};
use contracts::WorkerId;
use contracts::ordering::OrderFacts;
use storage::{AnyConnection, Row, micros, time};

use storage::parsed;

use super::Result;
use crate::domain::samples::SampleResult;

/// Records how a worker's order ended. Returns false if it was recorded already.
pub async fn record(
    conn: &mut AnyConnection,
    order: &OrderFacts,
    worker_id: WorkerId,
    outcome: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let n = storage::query(
        "INSERT INTO sample_results (order_id, worker_id, outcome, service_type_name, \
         scheduled_at, recorded_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(order.order_id.to_string())
    .bind(worker_id.to_string())
    .bind(outcome)
    .bind(&order.service_type_name)
    .bind(micros(order.scheduled_at))
    .bind(micros(at))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The worker's latest results, newest first.
pub async fn recent(
    conn: &mut AnyConnection,
    worker_id: WorkerId,
    limit: i64,
) -> Result<Vec<SampleResult>> {
    storage::query(
        "SELECT * FROM sample_results WHERE worker_id = $1 \
         ORDER BY recorded_at DESC, order_id DESC LIMIT $2",
    )
    .bind(worker_id.to_string())
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(SampleResult {
            order_id: parsed(r, "order_id")?,
            outcome: r.get("outcome"),
            service_type_name: r.get("service_type_name"),
            scheduled_at: time(r.get("scheduled_at")),
            recorded_at: time(r.get("recorded_at")),
        })
    })
    .collect()
}
