//! Matching's tables.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use contracts::matching::StepScore;
use serde::Serialize;
use storage::{AnyConnection, AnyRow, Row, micros, time};
use uuid::Uuid;

use crate::domain::pipeline::Decision;
use crate::domain::samples::{Candidate, NormalSample, ReferenceSample};

type Result<T> = std::result::Result<T, anyhow::Error>;

fn sample_of(r: &AnyRow) -> Result<NormalSample> {
    Ok(NormalSample {
        id: Uuid::parse_str(&r.get::<String, _>("id"))?,
        name: r.get("name"),
        available: r.get::<i64, _>("available") != 0,
        skills: serde_json::from_str(&r.get::<String, _>("skills"))?,
    })
}

/// Inserts or replaces a normal sample. Returns true when it was new.
pub async fn upsert_sample(conn: &mut AnyConnection, s: &NormalSample) -> Result<bool> {
    let now = storage::now_micros();
    let existed: i64 = storage::query_scalar("SELECT COUNT(*) FROM normal_samples WHERE id = $1")
        .bind(s.id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    storage::query(
        "INSERT INTO normal_samples (id, name, available, skills, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
         available = excluded.available, skills = excluded.skills, \
         updated_at = excluded.updated_at",
    )
    .bind(s.id.to_string())
    .bind(&s.name)
    .bind(i64::from(s.available))
    .bind(serde_json::to_string(&s.skills)?)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(existed == 0)
}

pub async fn sample(conn: &mut AnyConnection, id: Uuid) -> Result<Option<NormalSample>> {
    storage::query("SELECT * FROM normal_samples WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| sample_of(&r))
        .transpose()
}

pub async fn samples(conn: &mut AnyConnection) -> Result<Vec<NormalSample>> {
    storage::query("SELECT * FROM normal_samples ORDER BY name, id")
        .fetch_all(conn)
        .await?
        .iter()
        .map(sample_of)
        .collect()
}

/// Every normal sample with its bookings relative to `reference`.
pub async fn candidates(
    conn: &mut AnyConnection,
    reference: &ReferenceSample,
    now: DateTime<Utc>,
) -> Result<Vec<Candidate>> {
    storage::query(
        "SELECT w.*, \
           (SELECT COUNT(*) FROM reference_samples r WHERE r.worker_id = w.id \
              AND r.status = 'assigned' AND r.scheduled_at < $1 AND r.ends_at > $2) \
              AS overlapping, \
           (SELECT COUNT(*) FROM reference_samples r WHERE r.worker_id = w.id \
              AND r.status = 'assigned' AND r.ends_at > $3) AS load \
         FROM normal_samples w",
    )
    .bind(micros(reference.ends_at))
    .bind(micros(reference.scheduled_at))
    .bind(micros(now))
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Candidate {
            sample: sample_of(r)?,
            overlapping: r.get("overlapping"),
            load: r.get("load"),
        })
    })
    .collect()
}

/// Records an order to match. Returns false if it was already known (a redelivery).
pub async fn insert_reference(
    conn: &mut AnyConnection,
    r: &ReferenceSample,
    cause: &str,
) -> Result<bool> {
    let n = storage::query(
        "INSERT INTO reference_samples (order_id, client_id, skill, scheduled_at, ends_at, \
         status, assignment_version, fallback, candidates, cause, requested_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, 0, 0, $6, $7) \
         ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(r.order_id.to_string())
    .bind(&r.client_id)
    .bind(&r.skill)
    .bind(micros(r.scheduled_at))
    .bind(micros(r.ends_at))
    .bind(cause)
    .bind(storage::now_micros())
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

pub async fn pending(conn: &mut AnyConnection, order_id: Uuid) -> Result<Option<Pending>> {
    storage::query("SELECT * FROM reference_samples WHERE order_id = $1 AND status = 'pending'")
        .bind(order_id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| {
            Ok(Pending {
                reference: ReferenceSample {
                    order_id,
                    client_id: r.get("client_id"),
                    skill: r.get("skill"),
                    scheduled_at: time(r.get("scheduled_at")),
                    ends_at: time(r.get("ends_at")),
                },
                assignment_version: r.get("assignment_version"),
                cause: r.get("cause"),
            })
        })
        .transpose()
}

/// Oldest pending orders first.
pub async fn pending_ids(conn: &mut AnyConnection, limit: i64) -> Result<Vec<Uuid>> {
    storage::query_scalar::<_, String>(
        "SELECT order_id FROM reference_samples WHERE status = 'pending' \
         ORDER BY requested_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|s| Ok(Uuid::parse_str(s)?))
    .collect()
}

/// Stores the decision if the order is still pending. Returns false if another matcher
/// got there first.
pub async fn assign(
    conn: &mut AnyConnection,
    order_id: Uuid,
    version: i64,
    d: &Decision,
) -> Result<bool> {
    let n = storage::query(
        "UPDATE reference_samples SET status = 'assigned', worker_id = $1, price = $2, \
         assignment_version = $3, explanation = $4, fallback = $5, candidates = $6, \
         assigned_at = $7 WHERE order_id = $8 AND status = 'pending'",
    )
    .bind(d.worker_id.to_string())
    .bind(d.price)
    .bind(version)
    .bind(serde_json::to_string(&d.explanation)?)
    .bind(i64::from(d.fallback))
    .bind(d.candidates)
    .bind(storage::now_micros())
    .bind(order_id.to_string())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// A reference sample as managers read it: status, the chosen worker and why.
#[derive(Debug, Serialize)]
pub struct Assignment {
    pub order_id: Uuid,
    pub status: String,
    pub skill: String,
    pub worker_id: Option<String>,
    pub price: Option<i64>,
    pub fallback: bool,
    pub candidates: i64,
    pub explanation: Vec<StepScore>,
    pub scheduled_at: DateTime<Utc>,
}

pub async fn assignment(conn: &mut AnyConnection, order_id: Uuid) -> Result<Option<Assignment>> {
    storage::query("SELECT * FROM reference_samples WHERE order_id = $1")
        .bind(order_id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| {
            Ok(Assignment {
                order_id,
                status: r.get("status"),
                skill: r.get("skill"),
                worker_id: r.get("worker_id"),
                price: r.get("price"),
                fallback: r.get::<i64, _>("fallback") != 0,
                candidates: r.get("candidates"),
                explanation: r
                    .get::<Option<String>, _>("explanation")
                    .map(|e| serde_json::from_str(&e))
                    .transpose()?
                    .unwrap_or_default(),
                scheduled_at: time(r.get("scheduled_at")),
            })
        })
        .transpose()
}

/// Reference samples per status (operators, tests).
pub async fn count_by_status(conn: &mut AnyConnection) -> Result<BTreeMap<String, i64>> {
    Ok(
        storage::query("SELECT status, COUNT(*) AS n FROM reference_samples GROUP BY status")
            .fetch_all(conn)
            .await?
            .into_iter()
            .map(|r| (r.get("status"), r.get("n")))
            .collect(),
    )
}
