//! Matching's tables.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use contracts::matching::StepScore;
use contracts::{AdjustmentId, Money, OrderId, ParseIdError, WorkerId};
use serde::{Deserialize, Serialize};
use storage::{AnyConnection, AnyRow, Row, micros, time};

use crate::domain::pipeline::{Decision, RunnerUp};
use crate::domain::roster::{Booking, SampleState};
use crate::domain::samples::{History, NormalSample, ReferenceSample};

type Result<T> = std::result::Result<T, anyhow::Error>;

/// An id kept as TEXT.
fn parse_id<T: std::str::FromStr<Err = ParseIdError>>(s: &str) -> Result<T> {
    Ok(s.parse()?)
}

/// The lock every transaction that changes normal samples or bookings takes (PostgreSQL;
/// SQLite serializes writers already). Transaction-scoped: released at commit or rollback.
pub async fn lock_roster(conn: &mut AnyConnection) -> Result<()> {
    if storage::Backend::of(conn) == storage::Backend::Postgres {
        storage::query("SELECT pg_advisory_xact_lock(7243001)")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Logs that `worker_id`'s sample or bookings changed. Call under [`lock_roster`]: the
/// sequence is then gap-free and in commit order.
pub async fn log_change(conn: &mut AnyConnection, worker_id: WorkerId) -> Result<()> {
    storage::query(
        "INSERT INTO roster_changes (seq, worker_id, at) \
         SELECT COALESCE(MAX(seq), 0) + 1, $1, $2 FROM roster_changes",
    )
    .bind(worker_id.to_string())
    .bind(storage::now_micros())
    .execute(conn)
    .await?;
    Ok(())
}

/// Changes from `from_seq` on (inclusive), in order.
pub async fn changes_from(conn: &mut AnyConnection, from_seq: i64) -> Result<Vec<(i64, WorkerId)>> {
    storage::query("SELECT seq, worker_id FROM roster_changes WHERE seq >= $1 ORDER BY seq")
        .bind(from_seq)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((r.get("seq"), parse_id(&r.get::<String, _>("worker_id"))?)))
        .collect()
}

pub async fn last_change(conn: &mut AnyConnection) -> Result<i64> {
    Ok(
        storage::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM roster_changes")
            .fetch_one(conn)
            .await?,
    )
}

/// Forgets changes older than `before` (micros), always keeping the newest, so the
/// sequence never restarts. A replica that missed forgotten changes reloads everything.
pub async fn prune_changes(conn: &mut AnyConnection, before: i64) -> Result<u64> {
    Ok(storage::query(
        // By seq, not by time: only a prefix of the log goes (replicas' clocks differ, so
        // `at` is not monotonic in `seq`), and the newest old row stays, so a reader can
        // always tell whether its position is still in the log.
        "DELETE FROM roster_changes WHERE seq < \
         (SELECT COALESCE(MAX(seq), 0) FROM roster_changes WHERE at < $1)",
    )
    .bind(before)
    .execute(conn)
    .await?
    .rows_affected())
}

fn sample_of(r: &AnyRow) -> Result<NormalSample> {
    Ok(NormalSample {
        id: parse_id(&r.get::<String, _>("id"))?,
        name: r.get("name"),
        available: r.get::<i64, _>("available") != 0,
        skills: serde_json::from_str(&r.get::<String, _>("skills"))?,
    })
}

fn booking_of(r: &AnyRow) -> Result<(WorkerId, Booking)> {
    Ok((
        parse_id(&r.get::<String, _>("worker_id"))?,
        Booking {
            start: r.get("scheduled_at"),
            end: r.get("ends_at"),
            order_id: parse_id(&r.get::<String, _>("order_id"))?,
        },
    ))
}

fn add_result(h: &mut History, outcome: &str, n: i64) {
    match outcome {
        "completed" => h.completed += n,
        "no_show" => h.failed += n,
        _ => {}
    }
}

/// Every normal sample with its bookings and history (a replica's full roster load).
pub async fn load_roster(conn: &mut AnyConnection) -> Result<Vec<SampleState>> {
    let mut bookings: HashMap<WorkerId, Vec<Booking>> = HashMap::new();
    for r in storage::query(
        "SELECT order_id, worker_id, scheduled_at, ends_at FROM reference_samples \
         WHERE status = 'assigned' AND worker_id IS NOT NULL",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        let (w, b) = booking_of(&r)?;
        bookings.entry(w).or_default().push(b);
    }
    let mut history: HashMap<WorkerId, History> = HashMap::new();
    for r in storage::query(
        "SELECT worker_id, outcome, COUNT(*) AS n FROM sample_results GROUP BY worker_id, outcome",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        let w = parse_id(&r.get::<String, _>("worker_id"))?;
        add_result(
            history.entry(w).or_default(),
            &r.get::<String, _>("outcome"),
            r.get("n"),
        );
    }
    storage::query("SELECT id, name, available, skills FROM normal_samples ORDER BY id")
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            let sample = sample_of(r)?;
            Ok(SampleState {
                history: history.remove(&sample.id).unwrap_or_default(),
                bookings: bookings.remove(&sample.id).unwrap_or_default(),
                sample,
            })
        })
        .collect()
}

/// One normal sample with its bookings and history (`None`: no such sample).
pub async fn load_sample_state(
    conn: &mut AnyConnection,
    id: WorkerId,
) -> Result<Option<SampleState>> {
    let Some(sample) = sample(&mut *conn, id).await? else {
        return Ok(None);
    };
    let bookings = storage::query(
        "SELECT order_id, worker_id, scheduled_at, ends_at FROM reference_samples \
         WHERE worker_id = $1 AND status = 'assigned'",
    )
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok(booking_of(r)?.1))
    .collect::<Result<Vec<_>>>()?;
    let history = history(conn, id).await?;
    Ok(Some(SampleState {
        sample,
        history,
        bookings,
    }))
}

pub async fn history(conn: &mut AnyConnection, id: WorkerId) -> Result<History> {
    let mut h = History::default();
    for r in storage::query(
        "SELECT outcome, COUNT(*) AS n FROM sample_results WHERE worker_id = $1 GROUP BY outcome",
    )
    .bind(id.to_string())
    .fetch_all(conn)
    .await?
    {
        add_result(&mut h, &r.get::<String, _>("outcome"), r.get("n"));
    }
    Ok(h)
}

/// Inserts or replaces a normal sample. Call under [`lock_roster`] and log the change.
pub async fn upsert_sample(conn: &mut AnyConnection, s: &NormalSample) -> Result<()> {
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
    .bind(storage::now_micros())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn sample(conn: &mut AnyConnection, id: WorkerId) -> Result<Option<NormalSample>> {
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

/// Records an order to match. Returns false if it was already known (a redelivery, or it
/// was canceled before its request arrived).
pub async fn insert_reference(
    conn: &mut AnyConnection,
    r: &ReferenceSample,
    cause: &str,
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
    .bind(storage::now_micros())
    .bind(serde_json::to_string(&r.excluded_workers)?)
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

fn id_opt<T: std::str::FromStr<Err = ParseIdError>>(s: Option<String>) -> Result<Option<T>> {
    s.map(|s| parse_id(&s)).transpose()
}

pub async fn pending(conn: &mut AnyConnection, order_id: OrderId) -> Result<Option<Pending>> {
    storage::query("SELECT * FROM reference_samples WHERE order_id = $1 AND status = 'pending'")
        .bind(order_id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| {
            Ok(Pending {
                reference: ReferenceSample {
                    order_id,
                    client_id: parse_id(&r.get::<String, _>("client_id"))?,
                    skill: r.get("skill"),
                    scheduled_at: time(r.get("scheduled_at")),
                    ends_at: time(r.get("ends_at")),
                    excluded_workers: serde_json::from_str(
                        &r.get::<String, _>("excluded_workers"),
                    )?,
                    rebook_of: id_opt(r.get("rebook_of"))?,
                },
                assignment_version: r.get("assignment_version"),
                cause: r.get("cause"),
            })
        })
        .transpose()
}

/// Oldest pending orders first.
pub async fn pending_ids(conn: &mut AnyConnection, limit: i64) -> Result<Vec<OrderId>> {
    storage::query_scalar::<_, String>(
        "SELECT order_id FROM reference_samples WHERE status = 'pending' \
         ORDER BY requested_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|s| parse_id(s))
    .collect()
}

/// What the explanation column does not hold: totals, runners-up, the summary.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Details {
    pub total: f64,
    pub max_total: f64,
    pub summary: String,
    pub runner_ups: Vec<RunnerUp>,
}

/// Stores the decision if the order is still pending. Returns false if another matcher
/// got there first.
pub async fn assign(
    conn: &mut AnyConnection,
    order_id: OrderId,
    version: i64,
    d: &Decision,
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
    .bind(serde_json::to_string(&d.explanation)?)
    .bind(i64::from(d.fallback))
    .bind(d.candidates)
    .bind(storage::now_micros())
    .bind(serde_json::to_string(&details)?)
    .bind(order_id.to_string())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The order left the bookings (`completed`, `canceled` or `failed`). Returns the worker
/// it was assigned to, if any. An order Matching has not seen yet is remembered as closed,
/// so its late request is never matched. Idempotent.
pub async fn close_reference(
    conn: &mut AnyConnection,
    order: &contracts::ordering::OrderFacts,
    status: &str,
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
        .bind(storage::now_micros())
        .execute(&mut *conn)
        .await?;
        return Ok(None);
    };
    let was: String = row.get("status");
    let worker = id_opt(row.get("worker_id"))?;
    if was == "pending" || was == "assigned" {
        storage::query(
            "UPDATE reference_samples SET status = $1, closed_at = $2 WHERE order_id = $3",
        )
        .bind(status)
        .bind(storage::now_micros())
        .bind(order.order_id.to_string())
        .execute(conn)
        .await?;
    }
    Ok(worker)
}

/// Records how a worker's order ended. Returns false if it was recorded already.
pub async fn record_result(
    conn: &mut AnyConnection,
    order: &contracts::ordering::OrderFacts,
    worker_id: WorkerId,
    outcome: &str,
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
    .bind(storage::now_micros())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// One finished job of a normal sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleResult {
    pub order_id: OrderId,
    /// `completed` or `no_show`.
    pub outcome: String,
    pub service_type_name: String,
    pub scheduled_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

pub async fn recent_results(
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
            order_id: parse_id(&r.get::<String, _>("order_id"))?,
            outcome: r.get("outcome"),
            service_type_name: r.get("service_type_name"),
            scheduled_at: time(r.get("scheduled_at")),
            recorded_at: time(r.get("recorded_at")),
        })
    })
    .collect()
}

/// One audited change of a skill level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Adjustment {
    pub id: AdjustmentId,
    pub worker_id: WorkerId,
    pub skill: String,
    /// None: the skill was new.
    pub from: Option<i64>,
    /// None: the skill was removed.
    pub to: Option<i64>,
    pub reason: String,
    /// Who: the caller's account id (or the event that caused it).
    pub actor: String,
    pub at: DateTime<Utc>,
}

fn adjustment_of(r: &AnyRow) -> Result<Adjustment> {
    Ok(Adjustment {
        id: parse_id(&r.get::<String, _>("id"))?,
        worker_id: parse_id(&r.get::<String, _>("worker_id"))?,
        skill: r.get("skill"),
        from: r.get("from_level"),
        to: r.get("to_level"),
        reason: r.get("reason"),
        actor: r.get("actor"),
        at: time(r.get("at")),
    })
}

pub async fn insert_adjustment(
    conn: &mut AnyConnection,
    a: &Adjustment,
    idempotency_key: Option<&str>,
) -> Result<()> {
    storage::query(
        "INSERT INTO sample_adjustments (id, worker_id, skill, from_level, to_level, reason, \
         actor, at, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(a.id.to_string())
    .bind(a.worker_id.to_string())
    .bind(&a.skill)
    .bind(a.from)
    .bind(a.to)
    .bind(&a.reason)
    .bind(&a.actor)
    .bind(micros(a.at))
    .bind(idempotency_key)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn adjustment_by_key(
    conn: &mut AnyConnection,
    worker_id: WorkerId,
    key: &str,
) -> Result<Option<Adjustment>> {
    storage::query("SELECT * FROM sample_adjustments WHERE worker_id = $1 AND idempotency_key = $2")
        .bind(worker_id.to_string())
        .bind(key)
        .fetch_optional(conn)
        .await?
        .map(|r| adjustment_of(&r))
        .transpose()
}

/// Newest first.
/// Where a page of a worker's adjustments starts: after this one (newest first).
pub struct AdjustmentCursor {
    pub at: i64,
    pub id: AdjustmentId,
}

/// The cursor after adjustment `id` of `worker_id`; `None` if it is not one of theirs.
pub async fn adjustment_cursor(
    conn: &mut AnyConnection,
    worker_id: WorkerId,
    id: AdjustmentId,
) -> Result<Option<AdjustmentCursor>> {
    let at: Option<i64> =
        storage::query("SELECT at FROM sample_adjustments WHERE worker_id = $1 AND id = $2")
            .bind(worker_id.to_string())
            .bind(id.to_string())
            .fetch_optional(conn)
            .await?
            .map(|r| r.get("at"));
    Ok(at.map(|at| AdjustmentCursor { at, id }))
}

/// Up to `limit` of a worker's adjustments, newest first, after `after` (if given).
pub async fn adjustments(
    conn: &mut AnyConnection,
    worker_id: WorkerId,
    after: Option<&AdjustmentCursor>,
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

/// A booking as a profile shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BookingView {
    pub order_id: OrderId,
    pub scheduled_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

pub fn booking_view(b: &Booking) -> BookingView {
    BookingView {
        order_id: b.order_id,
        scheduled_at: time(b.start),
        ends_at: time(b.end),
    }
}

/// A reference sample as managers read it: status, the chosen worker and why.
#[derive(Debug, Serialize)]
pub struct Assignment {
    pub order_id: OrderId,
    pub status: String,
    pub skill: String,
    pub worker_id: Option<WorkerId>,
    pub price: Option<Money>,
    /// True when no worker passed every filter and the documented fallback picked one.
    pub fallback: bool,
    pub candidates: i64,
    /// The chosen worker's weighted total and the best possible one.
    pub total: Option<f64>,
    pub max_total: Option<f64>,
    /// One line for people.
    pub summary: Option<String>,
    /// Every step's verdict on the chosen worker, in pipeline order.
    pub explanation: Vec<StepScore>,
    /// Why some steps fell back (external steps that failed), by step.
    pub notes: BTreeMap<String, String>,
    /// The next best candidates, best first.
    pub runner_ups: Vec<RunnerUp>,
    pub excluded_workers: Vec<WorkerId>,
    pub rebook_of: Option<OrderId>,
    pub scheduled_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

pub async fn assignment(conn: &mut AnyConnection, order_id: OrderId) -> Result<Option<Assignment>> {
    storage::query("SELECT * FROM reference_samples WHERE order_id = $1")
        .bind(order_id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| {
            let explanation: Vec<StepScore> = r
                .get::<Option<String>, _>("explanation")
                .map(|e| serde_json::from_str(&e))
                .transpose()?
                .unwrap_or_default();
            let details: Option<Details> = r
                .get::<Option<String>, _>("details")
                .map(|e| serde_json::from_str(&e))
                .transpose()?;
            Ok(Assignment {
                order_id,
                status: r.get("status"),
                skill: r.get("skill"),
                worker_id: id_opt(r.get("worker_id"))?,
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
                excluded_workers: serde_json::from_str(&r.get::<String, _>("excluded_workers"))?,
                rebook_of: id_opt(r.get("rebook_of"))?,
                scheduled_at: time(r.get("scheduled_at")),
                ends_at: time(r.get("ends_at")),
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
