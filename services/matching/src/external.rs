//! External pipeline steps: a step configured with a `url` is evaluated outside the process,
//! by one HTTP POST per decision for all candidates at once (the step's authors may write it
//! in any language).
//!
//! # Wire format
//!
//! Request (`POST <url>`, `content-type: application/json`):
//!
//! ```json
//! {
//!   "step": "vibes",
//!   "kind": "score",
//!   "reference": {
//!     "order_id": "0193…", "client_id": "…", "skill": "cleaning",
//!     "scheduled_at": "2026-11-25T10:00:00Z", "ends_at": "2026-11-25T12:00:00Z",
//!     "excluded_workers": [], "rebook_of": null
//!   },
//!   "candidates": [
//!     { "id": "0193…", "name": "Ann", "available": true, "skills": { "cleaning": 80 },
//!       "completed": 3, "failed": 0, "overlapping": 0, "load": 2 }
//!   ]
//! }
//! ```
//!
//! Answer (any 2xx status), one of:
//! - `{"scores": {"<worker id>": 0.7, ...}}` — by worker id;
//! - `{"scores": [0.7, ...]}` or a bare `[0.7, ...]` — in candidate order, one per candidate.
//!
//! Scores are numbers in 0..=1 (clamped); a filter passes a worker with a score >= 1 (or
//! `true`, which counts as 1; `false` as 0). A worker without a valid score gets the step's
//! fallback; so does everyone when the call times out (`timeout_ms`), cannot connect,
//! answers a non-2xx status or something unparsable. Fallback: filters pass, score steps
//! give `fallback_score`. The explanation of the decision carries a note saying so.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use contracts::{AccountId, OrderId, WorkerId};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::domain::pipeline::{ExternalSpec, Pipeline};
use crate::domain::roster::Roster;
use crate::domain::samples::ReferenceSample;
use crate::domain::steps::{ExternalOutcome, ExternalScores};

#[derive(Serialize)]
struct Reference<'a> {
    order_id: OrderId,
    client_id: AccountId,
    skill: &'a str,
    scheduled_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    excluded_workers: &'a [WorkerId],
    rebook_of: Option<OrderId>,
}

#[derive(Serialize)]
struct CandidateOut<'a> {
    id: WorkerId,
    name: &'a str,
    available: bool,
    skills: std::collections::BTreeMap<String, i64>,
    completed: i64,
    failed: i64,
    overlapping: u32,
    load: u32,
}

#[derive(Serialize)]
struct Request<'a> {
    step: &'a str,
    kind: &'a str,
    reference: &'a Reference<'a>,
    candidates: &'a [CandidateOut<'a>],
}

/// The questions for one decision, built from the roster (under its lock) so the HTTP calls
/// can run without it.
pub struct Questions {
    generation: u64,
    candidates: usize,
    bodies: Vec<(ExternalSpec, Vec<u8>)>,
}

/// What a step answered, before it is aligned to the roster.
#[derive(Debug)]
pub enum Answer {
    ById(HashMap<WorkerId, Option<f64>>),
    InOrder(Vec<Option<f64>>),
    Failed(String),
}

/// The bodies to send to every external step of `pipeline`.
pub fn questions(
    pipeline: &Pipeline,
    reference: &ReferenceSample,
    roster: &Roster,
    now: DateTime<Utc>,
) -> Result<Questions, serde_json::Error> {
    let (start, end, now) = (
        storage::micros(reference.scheduled_at),
        storage::micros(reference.ends_at),
        storage::micros(now),
    );
    let r = Reference {
        order_id: reference.order_id,
        client_id: reference.client_id,
        skill: &reference.skill,
        scheduled_at: reference.scheduled_at,
        ends_at: reference.ends_at,
        excluded_workers: &reference.excluded_workers,
        rebook_of: reference.rebook_of,
    };
    let candidates: Vec<CandidateOut> = if pipeline.externals().is_empty() {
        vec![]
    } else {
        roster
            .entries()
            .iter()
            .map(|e| CandidateOut {
                id: e.id,
                name: &e.name,
                available: e.available,
                skills: roster.skills_of(e),
                completed: e.history.completed,
                failed: e.history.failed,
                overlapping: e.overlapping(start, end),
                load: e.load(now),
            })
            .collect()
    };
    let bodies = pipeline
        .externals()
        .iter()
        .map(|spec| {
            let body = serde_json::to_vec(&Request {
                step: &spec.name,
                kind: spec.kind.as_str(),
                reference: &r,
                candidates: &candidates,
            })?;
            Ok((spec.clone(), body))
        })
        .collect::<Result<_, serde_json::Error>>()?;
    Ok(Questions {
        generation: roster.generation(),
        candidates: roster.len(),
        bodies,
    })
}

/// Asks every external step at once; never fails (a failure is an [`Answer::Failed`]).
pub async fn ask(http: &reqwest::Client, q: Questions) -> (u64, Vec<Answer>) {
    let candidates = q.candidates;
    let answers = futures::future::join_all(
        q.bodies
            .into_iter()
            .map(|(spec, body)| ask_one(http, spec, body, candidates)),
    )
    .await;
    (q.generation, answers)
}

async fn ask_one(http: &reqwest::Client, spec: ExternalSpec, body: Vec<u8>, n: usize) -> Answer {
    let ms = spec.timeout.as_millis();
    let call = async {
        let res = http
            .post(&spec.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    format!("timed out after {ms} ms")
                } else if e.is_connect() {
                    "could not connect".to_owned()
                } else {
                    format!("request failed: {e}")
                }
            })?;
        let status = res.status();
        if !status.is_success() {
            return Err(format!("answered HTTP {}", status.as_u16()));
        }
        let bytes = res.bytes().await.map_err(|e| {
            if e.is_timeout() {
                format!("timed out after {ms} ms")
            } else {
                format!("reading the answer failed: {e}")
            }
        })?;
        parse(&bytes, n)
    };
    // The client has no overall timeout; this one covers connect, send and the body.
    let answer = match tokio::time::timeout(spec.timeout, call).await {
        Err(_) => Err(format!("timed out after {ms} ms")),
        Ok(r) => r,
    };
    match answer {
        Ok(a) => a,
        Err(why) => {
            tracing::warn!(step = %spec.name, url = %spec.url, %why, "external matching step fell back");
            Answer::Failed(format!("external step {why}"))
        }
    }
}

/// Parses an answer (see the module doc) for `n` candidates.
pub fn parse(bytes: &[u8], n: usize) -> Result<Answer, String> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|_| "external step answered malformed JSON".to_owned())?;
    let scores = match v {
        Value::Object(mut o) => o
            .remove("scores")
            .ok_or_else(|| "external step answered without \"scores\"".to_owned())?,
        v @ Value::Array(_) => v,
        _ => return Err("external step answered neither an object nor an array".into()),
    };
    match scores {
        Value::Object(m) => Ok(Answer::ById(
            m.into_iter()
                // Any form of UUID names a worker, as an external step may write it.
                .filter_map(|(k, v)| {
                    let id = WorkerId::from_uuid(Uuid::parse_str(&k).ok()?);
                    Some((id, number(&v)))
                })
                .collect(),
        )),
        Value::Array(a) if a.len() == n => Ok(Answer::InOrder(a.iter().map(number).collect())),
        Value::Array(a) => Err(format!(
            "external step answered {} scores for {n} candidates",
            a.len()
        )),
        _ => Err("external step's \"scores\" is neither an object nor an array".into()),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// Aligns the answers to the roster's positions for [`Pipeline::decide`].
pub fn scores(roster: &Roster, generation: u64, answers: Vec<Answer>) -> ExternalScores {
    ExternalScores {
        generation,
        outcomes: answers
            .into_iter()
            .map(|a| match a {
                Answer::Failed(why) => ExternalOutcome::Failed(why),
                Answer::InOrder(v) => ExternalOutcome::Scored(v),
                Answer::ById(m) => ExternalScores::align(roster, |id| m.get(id).copied().flatten()),
            })
            .collect(),
    }
}
