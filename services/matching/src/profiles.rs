//! Normal-sample profiles: saving them (with an audit of changed skill levels), audited
//! adjustments, results from order outcomes, and the profile as people read it. Every
//! change takes the roster lock and logs a roster change (see `matcher`).

use chrono::Utc;
use contracts::ordering::OrderFacts;
use contracts::{AdjustmentId, WorkerId};
use serde::{Deserialize, Serialize};
use storage::AnyConnection;

use crate::domain::samples::{History, NormalSample};
use crate::error::MatchingError;
use crate::store::{self, Adjustment, BookingView, SampleResult};

/// Saves a normal sample. When it replaces an existing one, every changed skill level is
/// audited with `reason`. Returns whether it was new.
pub async fn save(
    conn: &mut AnyConnection,
    sample: &NormalSample,
    actor: &str,
    reason: &str,
) -> anyhow::Result<bool> {
    store::lock_roster(conn).await?;
    let before = store::sample(conn, sample.id).await?;
    store::upsert_sample(conn, sample).await?;
    if let Some(before) = &before {
        let at = Utc::now();
        let skills = before.skills.keys().chain(sample.skills.keys());
        let mut seen = std::collections::BTreeSet::new();
        for skill in skills {
            if !seen.insert(skill) {
                continue;
            }
            let (from, to) = (
                before.skills.get(skill).copied(),
                sample.skills.get(skill).copied(),
            );
            if from != to {
                let a = Adjustment {
                    id: AdjustmentId::new(),
                    worker_id: sample.id,
                    skill: skill.clone(),
                    from,
                    to,
                    reason: reason.to_owned(),
                    actor: actor.to_owned(),
                    at,
                };
                store::insert_adjustment(conn, &a, None).await?;
            }
        }
    }
    store::log_change(conn, sample.id).await?;
    Ok(before.is_none())
}

/// Most skills one profile may hold. Every profile write audits each changed skill and every
/// decision scans them, so the count is bounded (real workers have a handful).
pub const MAX_SKILLS: usize = 100;

/// `POST /normal-samples/{id}/adjustments`: a new absolute level or a change of it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRequest {
    pub skill: Option<String>,
    /// The new level, 0..100.
    pub level: Option<i64>,
    /// Or the change of level, -100..100 (the result is kept within 0..100).
    pub delta: Option<i64>,
    /// Why (required): kept in the audit.
    pub reason: Option<String>,
}

struct ValidAdjustment {
    skill: String,
    level: Option<i64>,
    delta: Option<i64>,
    reason: String,
}

impl AdjustmentRequest {
    fn validate(self) -> Result<ValidAdjustment, MatchingError> {
        let skill = self.skill.unwrap_or_default().trim().to_owned();
        if skill.is_empty() || skill.len() > 50 {
            return Err(MatchingError::invalid(
                "skill",
                "must be 1 to 50 characters",
            ));
        }
        match (self.level, self.delta) {
            (Some(_), Some(_)) => {
                return Err(MatchingError::invalid(
                    "delta",
                    "give level or delta, not both",
                ));
            }
            (None, None) => {
                return Err(MatchingError::invalid(
                    "level",
                    "give level (0..100) or delta",
                ));
            }
            (Some(l), None) if !(0..=100).contains(&l) => {
                return Err(MatchingError::invalid("level", "must be 0 to 100"));
            }
            (None, Some(d)) if d == 0 || !(-100..=100).contains(&d) => {
                return Err(MatchingError::invalid(
                    "delta",
                    "must be -100 to 100, not 0",
                ));
            }
            _ => {}
        }
        let reason = self.reason.unwrap_or_default().trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 1000 {
            return Err(MatchingError::invalid(
                "reason",
                "is required (1 to 1000 characters)",
            ));
        }
        Ok(ValidAdjustment {
            skill,
            level: self.level,
            delta: self.delta,
            reason,
        })
    }
}

/// Applies an adjustment and audits it in the caller's transaction. Returns the audit row
/// and whether it is new (false: a retry with the same idempotency key, applied before).
pub async fn adjust(
    conn: &mut AnyConnection,
    worker_id: WorkerId,
    request: AdjustmentRequest,
    actor: &str,
    idempotency_key: Option<&str>,
) -> Result<(Adjustment, bool), MatchingError> {
    let req = request.validate()?;
    store::lock_roster(conn).await?;
    if let Some(key) = idempotency_key
        && let Some(done) = store::adjustment_by_key(conn, worker_id, key).await?
    {
        // A retry repeats the same adjustment; the same key for another one is refused.
        // No request body is kept, so "the same" is judged from the audit row: skill, reason
        // and the resulting level (for a delta: the recorded step from `from` to `to`).
        let same = done.skill == req.skill
            && done.reason == req.reason
            && match (req.level, req.delta) {
                (Some(l), _) => done.to == Some(l),
                (None, Some(d)) => {
                    done.to == Some((done.from.unwrap_or(0).saturating_add(d)).clamp(0, 100))
                }
                (None, None) => false,
            };
        if !same {
            return Err(MatchingError::invalid(
                "Idempotency-Key",
                "was already used for a different adjustment",
            ));
        }
        return Ok((done, false));
    }
    let mut sample = store::sample(conn, worker_id)
        .await?
        .ok_or(MatchingError::NotFound("normal sample"))?;
    let from = sample.skills.get(&req.skill).copied();
    if from.is_none() && sample.skills.len() >= MAX_SKILLS {
        return Err(MatchingError::invalid(
            "skill",
            &format!("this profile already has {MAX_SKILLS} skills, the most it may hold"),
        ));
    }
    let to = match (req.level, req.delta) {
        (Some(l), _) => l,
        (None, Some(d)) => (from.unwrap_or(0) + d).clamp(0, 100),
        (None, None) => unreachable!("validated"),
    };
    sample.skills.insert(req.skill.clone(), to);
    store::upsert_sample(conn, &sample).await?;
    let a = Adjustment {
        id: AdjustmentId::new(),
        worker_id,
        skill: req.skill,
        from,
        to: Some(to),
        reason: req.reason,
        actor: actor.to_owned(),
        at: Utc::now(),
    };
    store::insert_adjustment(conn, &a, idempotency_key).await?;
    store::log_change(conn, worker_id).await?;
    Ok((a, true))
}

/// How an order left Matching's bookings.
pub enum Outcome {
    Completed,
    Canceled,
    /// `no_show` (the worker did not come) or `not_matched`.
    Failed {
        reason: String,
    },
}

/// Applies an order's end: the booking is released; a completion or a no-show goes into
/// the worker's history. Idempotent (results are keyed by order).
pub async fn close(
    conn: &mut AnyConnection,
    order: &OrderFacts,
    outcome: Outcome,
) -> anyhow::Result<()> {
    store::lock_roster(conn).await?;
    let status = match outcome {
        Outcome::Completed => "completed",
        Outcome::Canceled => "canceled",
        Outcome::Failed { .. } => "failed",
    };
    let booked = store::close_reference(conn, order, status).await?;
    let result = match &outcome {
        Outcome::Completed => Some("completed"),
        Outcome::Failed { reason } if reason == "no_show" => Some("no_show"),
        _ => None,
    };
    // The event's worker is the authority for the result; Matching's own booking may
    // differ only if the event is about an order Matching never assigned.
    let worker = order.worker_id.or(booked);
    if let (Some(outcome), Some(worker)) = (result, worker) {
        store::record_result(conn, order, worker, outcome).await?;
    }
    for w in [booked, worker]
        .into_iter()
        .flatten()
        .collect::<std::collections::BTreeSet<_>>()
    {
        store::log_change(conn, w).await?;
    }
    Ok(())
}

/// A normal sample as people read it.
#[derive(Debug, Serialize)]
pub struct Profile {
    #[serde(flatten)]
    pub sample: NormalSample,
    /// Skills at level 70 or more, strongest first.
    pub strengths: Vec<String>,
    /// Skills below level 40, weakest first.
    pub weaknesses: Vec<String>,
    pub history: HistoryView,
    /// Assigned orders not yet completed, canceled or failed.
    pub bookings: Vec<BookingView>,
    /// The latest results, newest first (at most 10).
    pub recent_results: Vec<SampleResult>,
}

#[derive(Debug, Serialize)]
pub struct HistoryView {
    pub completed: i64,
    pub failed: i64,
    /// (completed + 1) / (completed + failed + 2): what past_results scores.
    pub success_rate: f64,
}

impl From<History> for HistoryView {
    fn from(h: History) -> Self {
        HistoryView {
            completed: h.completed,
            failed: h.failed,
            success_rate: h.success_rate(),
        }
    }
}

pub async fn profile(conn: &mut AnyConnection, id: WorkerId) -> anyhow::Result<Option<Profile>> {
    let Some(state) = store::load_sample_state(conn, id).await? else {
        return Ok(None);
    };
    let mut bookings = state.bookings;
    bookings.sort_unstable();
    Ok(Some(Profile {
        strengths: state.sample.strengths(),
        weaknesses: state.sample.weaknesses(),
        history: state.history.into(),
        bookings: bookings.iter().map(store::booking_view).collect(),
        recent_results: store::recent_results(conn, id, 10).await?,
        sample: state.sample,
    }))
}
