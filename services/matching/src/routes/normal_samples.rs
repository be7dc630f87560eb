//! Normal samples: workers' profiles, their skill adjustments and the audit of them.

use std::collections::BTreeMap;

use auth::{Access, Principal, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use contracts::{AdjustmentId, WorkerId};
use serde::{Deserialize, Serialize};
use web::{IdempotencyKey, Json, Path, Query};

use super::{STAFF, STAFF_AND_SERVICES, answer};
use crate::App;
use crate::app::profile::Profile;
use crate::app::{Idempotent, adjust, audit, profile, register};
use crate::domain::adjustments::{Adjustment, Change, MAX_SKILLS};
use crate::domain::samples::NormalSample;
use crate::error::MatchingError;

pub fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::get("/normal-samples", Access::Roles(STAFF))
                .summary("Every normal sample, by name")
                .returns::<Vec<NormalSample>>(StatusCode::OK),
            list,
        )
        .route(
            Route::post("/normal-samples", Access::Roles(STAFF_AND_SERVICES))
                .summary("Register a worker, or replace its profile (changed levels audited)")
                .idempotency_key()
                .body::<NormalSampleIn>()
                .returns::<NormalSample>(StatusCode::CREATED)
                .returns::<NormalSample>(StatusCode::OK),
            register,
        )
        .route(
            Route::get("/normal-samples/{id}", Access::Roles(STAFF))
                .summary("A profile with strengths, weaknesses, bookings and history")
                .param::<WorkerId>("id")
                .returns::<Profile>(StatusCode::OK),
            get,
        )
        .route(
            Route::put("/normal-samples/{id}", Access::Roles(STAFF_AND_SERVICES))
                .summary("Replace a worker's profile (changed levels audited)")
                .param::<WorkerId>("id")
                .body::<NormalSampleIn>()
                .returns::<NormalSample>(StatusCode::OK),
            update,
        )
        .route(
            Route::post(
                "/normal-samples/{id}/adjustments",
                Access::Roles(STAFF_AND_SERVICES),
            )
            .summary("Set or change one skill level, with a reason (audited)")
            .param::<WorkerId>("id")
            .idempotency_key()
            .body::<AdjustmentRequest>()
            .returns::<Adjustment>(StatusCode::CREATED)
            .returns::<Adjustment>(StatusCode::OK),
            adjust,
        )
        .route(
            Route::get("/normal-samples/{id}/adjustments", Access::Roles(STAFF))
                .summary("The audit of a worker's levels, newest first, a page at a time")
                .param::<WorkerId>("id")
                .query::<AdjustmentsPage>()
                .returns::<Vec<Adjustment>>(StatusCode::OK),
            adjustments,
        )
}

/// A worker's profile as submitted (by a manager, or hiring's service account).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NormalSampleIn {
    /// The worker's id (its account's); generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<WorkerId>,
    /// One line, at most 100 characters.
    pub name: String,
    /// False while the worker takes no jobs at all.
    #[serde(default = "yes")]
    pub available: bool,
    /// Skill -> level 0..100; at most 100 skills, names 1 to 50 characters.
    #[serde(default)]
    pub skills: BTreeMap<String, i64>,
}

fn yes() -> bool {
    true
}

impl NormalSampleIn {
    fn validate(self, id: WorkerId) -> Result<NormalSample, MatchingError> {
        let name = web::text::single_line("name", &self.name, 100)?;
        if self.skills.len() > MAX_SKILLS {
            return Err(MatchingError::invalid(
                "skills",
                &format!("at most {MAX_SKILLS} skills"),
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

/// A new absolute level or a change of it, with the reason.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRequest {
    /// 1 to 50 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// The new level, 0..100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<i64>,
    /// Or the change of level, -100..100 (the result is kept within 0..100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<i64>,
    /// Why (required, 1 to 1000 characters): kept in the audit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A page of the audit: `limit` entries (default 50, at most 200) after the entry `after`
/// (the last id of the previous page).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentsPage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<AdjustmentId>,
}

/// `POST /normal-samples`: waiting orders are matched right after.
async fn register(
    State(app): State<App>,
    who: Principal,
    key: IdempotencyKey,
    Json(body): Json<NormalSampleIn>,
) -> Result<Response, MatchingError> {
    let key = Idempotent::of(key.0, &body)?;
    let id = body.id.unwrap_or_else(WorkerId::new);
    let sample = body.validate(id)?;
    let done = register::register(&app, sample, &who.id.to_string(), key).await?;
    Ok(answer(done))
}

/// `PUT /normal-samples/{id}`.
async fn update(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<WorkerId>,
    Json(body): Json<NormalSampleIn>,
) -> Result<Json<NormalSample>, MatchingError> {
    if body.id.is_some_and(|p| p != id) {
        return Err(MatchingError::invalid("id", "does not match the path"));
    }
    let sample = body.validate(id)?;
    Ok(Json(
        register::update(&app, sample, &who.id.to_string()).await?,
    ))
}

/// `GET /normal-samples/{id}`.
async fn get(
    State(app): State<App>,
    Path(id): Path<WorkerId>,
) -> Result<Json<Profile>, MatchingError> {
    Ok(Json(profile::profile(&app, id).await?))
}

/// `GET /normal-samples`.
async fn list(State(app): State<App>) -> Result<Json<Vec<NormalSample>>, MatchingError> {
    Ok(Json(profile::list(&app).await?))
}

/// `POST /normal-samples/{id}/adjustments`.
async fn adjust(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<WorkerId>,
    key: IdempotencyKey,
    Json(body): Json<AdjustmentRequest>,
) -> Result<Response, MatchingError> {
    let key = Idempotent::of(key.0, &body)?;
    let change = Change::new(
        body.skill.as_deref(),
        body.level,
        body.delta,
        body.reason.as_deref(),
    )?;
    let done = adjust::adjust(&app, id, change, &who.id.to_string(), key).await?;
    Ok(answer(done))
}

/// `GET /normal-samples/{id}/adjustments[?limit=&after=]`.
async fn adjustments(
    State(app): State<App>,
    Path(id): Path<WorkerId>,
    Query(page): Query<AdjustmentsPage>,
) -> Result<Json<Vec<Adjustment>>, MatchingError> {
    Ok(Json(
        audit::adjustments(&app, id, page.limit, page.after).await?,
    ))
}
