//! Reference samples (`reference_samples`): orders to match, their decisions, and when they
//! left the bookings.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use contracts::matching::StepScore;
use contracts::ordering::OrderFacts;
use contracts::{Money, OrderId, WorkerId};
use serde::{Deserialize, Serialize};
use storage::{AnyConnection, Row, micros, time};

use storage::{parsed, parsed_opt};

use super::{Result, json, to_json};
use crate::domain::pipeline::{Decision, RunnerUp};
use crate::domain::samples::{Assignment, ReferenceSample};

/// Records an order to match. Returns false if it was already known (a redelivery, or it
/// was canceled before its request arrived).
pub async fn insert(
    conn: &mut AnyConnection,
    r: &ReferenceSample,
    cause: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let n = storage::query(
        "INSERT INTO reference_samples (order_id, client_id, skill, scheduled_at, ends_at, \
         status, assignment_version, fallback, candidates, cause, requested_at, \
         excluded_workers, rebook_of) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, 0, 0, $6, $7, $8, $9) \
         ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(r.order_id.to_string())
    .bind(r.client_id.to_string())
    .bind(&r.skill)
    .bind(micros(r.scheduled_at))
    .bind(micros(r.ends_at))
    .bind(cause)
    .bind(micros(at))
    .bind(to_json(&r.excluded_workers)?)
    .bind(r.rebook_of.map(String::from))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// A pending reference sample with the envelope that announced it.
pub struct Pending {
    pub reference: ReferenceSample,
    pub assignment_version: i64,
    pub cause: String,
}

/// The order if it still waits for a worker.
pub async fn pending(conn: &mut AnyConnection, order_id: OrderId) -> Result<Option<Pending>> {
    storage::query("SELECT * FROM reference_samples WHERE order_id = $1 AND status = 'pending'")
        .bind(order_id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| {
            Ok(Pending {
                reference: ReferenceSample {
                    order_id,
                    client_id: parsed(&r, "client_id")?,
                    skill: r.get("skill"),
                    scheduled_at: time(r.get("scheduled_at")),
                    ends_at: time(r.get("ends_at")),
                    excluded_workers: json(&r.get::<String, _>("excluded_workers"))?,
                    rebook_of: parsed_opt(&r, "rebook_of")?,
                },
                assignment_version: r.get("assignment_version"),
                cause: r.get("cause"),
            })
        })
        .transpose()
}

/// Oldest pending orders first.
pub async fn pending_ids(conn: &mut AnyConnection, limit: i64) -> Result<Vec<OrderId>> {
    storage::query(
        "SELECT order_id FROM reference_samples WHERE status = 'pending' \
         ORDER BY requested_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| parsed(r, "order_id"))
    .collect()
}

/// What the explanation column does not hold: totals, runners-up, the summary.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Details {
    total: f64,
    max_total: f64,
    summary: String,
    runner_ups: Vec<RunnerUp>,
}

/// Stores the decision if the order is still pending. Returns false if another matcher
/// got there first.
pub async fn assign(
    conn: &mut AnyConnection,
    order_id: OrderId,
    version: i64,
    d: &Decision,
    at: DateTime<Utc>,
) -> Result<bool> {
    let details = Details {
        total: d.total,
        max_total: d.max_total,
        summary: d.summary.clone(),
        runner_ups: d.runner_ups.clone(),
    };
    let n = storage::query(
        "UPDATE reference_samples SET status = 'assigned', worker_id = $1, price = $2, \
         assignment_version = $3, explanation = $4, fallback = $5, candidates = $6, \
         assigned_at = $7, details = $8 WHERE order_id = $9 AND status = 'pending'",
    )
    .bind(d.worker_id.to_string())
    .bind(d.price.minor())
    .bind(version)
    .bind(to_json(&d.explanation)?)
    .bind(i64::from(d.fallback))
    .bind(d.candidates)
    .bind(micros(at))
    .bind(to_json(&details)?)
    .bind(order_id.to_string())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The order left the bookings (`completed`, `canceled` or `failed`). Returns the worker
/// it was assigned to, if any. An order Matching has not seen yet is remembered as closed,
/// so its late request is never matched. Idempotent.
pub async fn close(
    conn: &mut AnyConnection,
    order: &OrderFacts,
    status: &str,
    at: DateTime<Utc>,
) -> Result<Option<WorkerId>> {
    let row = storage::query("SELECT status, worker_id FROM reference_samples WHERE order_id = $1")
        .bind(order.order_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        storage::query(
            "INSERT INTO reference_samples (order_id, client_id, skill, scheduled_at, ends_at, \
             status, worker_id, assignment_version, fallback, candidates, cause, requested_at, \
             closed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, 0, '{}', $8, $8) \
             ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(order.order_id.to_string())
        .bind(order.client_id.to_string())
        // Its request never arrived, so the skill is unknown; the row only marks the
        // order closed, and a closed order is never matched.
        .bind("")
        .bind(micros(order.scheduled_at))
        // An end out of range (a corrupt event) is stored as the start: the row only marks
        // the order closed.
        .bind(micros(
            crate::domain::samples::ends_at(order.scheduled_at, order.duration_minutes)
                .unwrap_or(order.scheduled_at),
        ))
        .bind(status)
        .bind(order.worker_id.map(String::from))
        .bind(micros(at))
        .execute(&mut *conn)
        .await?;
        return Ok(None);
    };
    let was: String = row.get("status");
    let worker = parsed_opt(&row, "worker_id")?;
    if was == "pending" || was == "assigned" {
        storage::query(
            "UPDATE reference_samples SET status = $1, closed_at = $2 WHERE order_id = $3",
        )
        .bind(status)
        .bind(micros(at))
        .bind(order.order_id.to_string())
        .execute(conn)
        .await?;
    }
    Ok(worker)
}

/// The order's reference sample as managers read it.
pub async fn assignment(conn: &mut AnyConnection, order_id: OrderId) -> Result<Option<Assignment>> {
    storage::query("SELECT * FROM reference_samples WHERE order_id = $1")
        .bind(order_id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| {
            let explanation: Vec<StepScore> = r
                .get::<Option<String>, _>("explanation")
                .map(|e| json(&e))
                .transpose()?
                .unwrap_or_default();
            let details: Option<Details> = r
                .get::<Option<String>, _>("details")
                .map(|e| json(&e))
                .transpose()?;
            Ok(Assignment {
                order_id,
                status: r.get("status"),
                skill: r.get("skill"),
                worker_id: parsed_opt(&r, "worker_id")?,
                price: r.get::<Option<i64>, _>("price").map(Money::from_minor),
                fallback: r.get::<i64, _>("fallback") != 0,
                candidates: r.get("candidates"),
                total: details.as_ref().map(|d| d.total),
                max_total: details.as_ref().map(|d| d.max_total),
                summary: details.as_ref().map(|d| d.summary.clone()),
                notes: explanation
                    .iter()
                    .filter_map(|s| Some((s.step.clone(), s.note.clone()?)))
                    .collect(),
                explanation,
                runner_ups: details.map(|d| d.runner_ups).unwrap_or_default(),
                excluded_workers: json(&r.get::<String, _>("excluded_workers"))?,
                rebook_of: parsed_opt(&r, "rebook_of")?,
                scheduled_at: time(r.get("scheduled_at")),
                ends_at: time(r.get("ends_at")),
            })
        })
        .transpose()
}

/// Reference samples per status (operators, tests).
pub async fn count_by_status(conn: &mut AnyConnection) -> Result<BTreeMap<String, i64>> {
    storage::counts(
        conn,
        "SELECT status AS key, COUNT(*) AS n FROM reference_samples GROUP BY status",
    )
    .await
}
