use std::collections::BTreeMap;

use auth::Principal;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use contracts::{AdjustmentId, WorkerId};
use serde::Deserialize;
use web::{Json, Path, Query};

use crate::App;
use crate::domain::samples::NormalSample;
use crate::error::MatchingError;
use crate::profiles::{self, AdjustmentRequest};
use crate::store::{self, Adjustment};

/// A worker's profile as submitted (hiring feeds this later).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The worker's id; generated when absent.
    pub id: Option<WorkerId>,
    pub name: String,
    #[serde(default = "yes")]
    pub available: bool,
    /// Skill -> level 0..100.
    #[serde(default)]
    pub skills: BTreeMap<String, i64>,
}

fn yes() -> bool {
    true
}

impl Profile {
    fn validate(self, id: WorkerId) -> Result<NormalSample, MatchingError> {
        let name = web::text::single_line("name", &self.name, 100)?;
        if self.skills.len() > profiles::MAX_SKILLS {
            return Err(MatchingError::invalid(
                "skills",
                &format!("at most {} skills", profiles::MAX_SKILLS),
            ));
        }
        for (skill, level) in &self.skills {
            if skill.trim().is_empty() || skill.len() > 50 {
                return Err(MatchingError::invalid(
                    "skills",
                    "skill names must be 1 to 50 characters",
                ));
            }
            // Skill names are shown and compared as one-line labels.
            web::text::single_line("skills", skill, 50)?;
            if !(0..=100).contains(level) {
                return Err(MatchingError::invalid(
                    format!("skills.{skill}"),
                    "must be 0 to 100",
                ));
            }
        }
        Ok(NormalSample {
            id,
            name,
            available: self.available,
            skills: self.skills,
        })
    }
}

/// `POST /normal-samples`: register a worker (or replace its profile, audited). Waiting
/// orders are matched right after.
pub async fn register(
    State(app): State<App>,
    who: Principal,
    Json(profile): Json<Profile>,
) -> Result<(StatusCode, Json<NormalSample>), MatchingError> {
    let id = profile.id.unwrap_or_else(WorkerId::new);
    let sample = profile.validate(id)?;
    let created = save(&app, &sample, &who).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(sample)))
}

/// `PUT /normal-samples/{id}`: replace a worker's profile; changed levels are audited.
pub async fn update(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<WorkerId>,
    Json(profile): Json<Profile>,
) -> Result<Json<NormalSample>, MatchingError> {
    if profile.id.is_some_and(|p| p != id) {
        return Err(MatchingError::invalid("id", "does not match the path"));
    }
    let sample = profile.validate(id)?;
    {
        let mut conn = app.rt.db.pool().acquire().await?;
        if store::sample(&mut conn, id).await?.is_none() {
            return Err(MatchingError::NotFound("normal sample"));
        }
    }
    save(&app, &sample, &who).await?;
    Ok(Json(sample))
}

async fn save(app: &App, sample: &NormalSample, who: &Principal) -> Result<bool, MatchingError> {
    let mut tx = app.rt.db.begin().await?;
    let created = profiles::save(&mut tx, sample, &who.id.to_string(), "profile replaced").await?;
    tx.commit().await?;
    app.wake.notify_one();
    Ok(created)
}

/// `GET /normal-samples/{id}`: the profile with strengths, weaknesses, bookings and history.
pub async fn get(
    State(app): State<App>,
    Path(id): Path<WorkerId>,
) -> Result<Json<profiles::Profile>, MatchingError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    profiles::profile(&mut conn, id)
        .await?
        .map(Json)
        .ok_or(MatchingError::NotFound("normal sample"))
}

/// `GET /normal-samples`.
pub async fn list(State(app): State<App>) -> Result<Json<Vec<NormalSample>>, MatchingError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    Ok(Json(store::samples(&mut conn).await?))
}

/// `POST /normal-samples/{id}/adjustments`: Quality (or a manager) sets or changes one skill
/// level, with a reason; audited in the same transaction. An `Idempotency-Key` header makes
/// a retry return the first result (200) instead of applying it again.
pub async fn adjust(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<WorkerId>,
    headers: HeaderMap,
    Json(request): Json<AdjustmentRequest>,
) -> Result<(StatusCode, Json<Adjustment>), MatchingError> {
    let key =
        web::idempotency_key(&headers).map_err(|m| MatchingError::invalid("Idempotency-Key", m))?;
    let mut tx = app.rt.db.begin().await?;
    let (adjustment, created) =
        profiles::adjust(&mut tx, id, request, &who.id.to_string(), key.as_deref()).await?;
    tx.commit().await?;
    app.wake.notify_one();
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(adjustment)))
}

/// A page of the audit: `limit` entries (default 50, at most 200) after the entry `after`
/// (the last id of the previous page).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentsPage {
    pub limit: Option<i64>,
    pub after: Option<AdjustmentId>,
}

/// Largest page of `GET /normal-samples/{id}/adjustments`.
pub const MAX_ADJUSTMENTS_PAGE: i64 = 200;

/// `GET /normal-samples/{id}/adjustments[?limit=&after=]`: the audit of the worker's levels,
/// newest first, a page at a time.
pub async fn adjustments(
    State(app): State<App>,
    Path(id): Path<WorkerId>,
    Query(page): Query<AdjustmentsPage>,
) -> Result<Json<Vec<Adjustment>>, MatchingError> {
    let limit = page.limit.unwrap_or(50);
    if !(1..=MAX_ADJUSTMENTS_PAGE).contains(&limit) {
        return Err(MatchingError::invalid(
            "limit",
            &format!("must be 1 to {MAX_ADJUSTMENTS_PAGE}"),
        ));
    }
    let mut conn = app.rt.db.pool().acquire().await?;
    if store::sample(&mut conn, id).await?.is_none() {
        return Err(MatchingError::NotFound("normal sample"));
    }
    let after = match page.after {
        None => None,
        Some(a) => Some(
            store::adjustment_cursor(&mut conn, id, a)
                .await?
                .ok_or_else(|| {
                    MatchingError::invalid("after", "is not an adjustment of this worker")
                })?,
        ),
    };
    Ok(Json(
        store::adjustments(&mut conn, id, after.as_ref(), limit).await?,
    ))
}
