//! `/applications`: the public form (apply), and what managers do with applications.

use std::collections::BTreeMap;

use auth::{Access, Route, Routes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use contracts::{ApplicationId, TestId, WorkerId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use web::{IdempotencyKey, Json, Path, Query};

use super::{MANAGERS, Public, path_id};
use crate::app::Applied;
use crate::domain::{Application, ApplicationForm, Reason, Status};
use crate::error::HiringError;
use crate::store::Assignment;
use crate::{App, app};

pub(super) fn routes(public: &Public) -> Routes<App> {
    Routes::new()
        .route(
            Route::get("/applications", MANAGERS)
                .summary("A page of applications, newest first")
                .query::<PageQuery>()
                .returns::<ApplicationPage>(StatusCode::OK),
            list,
        )
        .route(
            Route::get("/applications/{id}", MANAGERS)
                .summary("An application and how its tests went")
                .param::<ApplicationId>("id")
                .returns::<ApplicationDetail>(StatusCode::OK),
            get,
        )
        .route(
            Route::get("/applications/{id}/photo", MANAGERS)
                .summary("The candidate's photo")
                .param::<ApplicationId>("id")
                .returns_media(StatusCode::OK, "image/png")
                .returns_media(StatusCode::OK, "image/jpeg")
                .returns_media(StatusCode::OK, "image/webp"),
            photo,
        )
        .route(
            Route::post("/applications/{id}/tests", MANAGERS)
                .summary("Assign tests; the candidate is mailed a private link")
                .param::<ApplicationId>("id")
                .body::<TestSet>()
                .returns::<Assigned>(StatusCode::OK),
            assign_tests,
        )
        .route(
            Route::post("/applications/{id}/accept", MANAGERS)
                .summary("Hire the candidate (WorkerHired)")
                .param::<ApplicationId>("id")
                .returns::<Accepted>(StatusCode::OK),
            accept,
        )
        .route(
            Route::post("/applications/{id}/decline", MANAGERS)
                .summary("Decline with a reason; the candidate is told by mail")
                .param::<ApplicationId>("id")
                .body::<Decline>()
                .returns::<Decided>(StatusCode::OK),
            decline,
        )
        // Public on purpose: candidates have no account.
        .route_layered(
            Route::post("/applications", Access::Public)
                .summary("Apply (the public form): one open application per e-mail")
                .idempotency_key()
                .body::<ApplicationForm>()
                .returns::<Applied>(StatusCode::ACCEPTED),
            apply,
            public.layer(),
        )
}

/// `POST /applications` (public): checked, one open application per e-mail.
async fn apply(
    State(app): State<App>,
    key: IdempotencyKey,
    Json(form): Json<ApplicationForm>,
) -> Result<Response, HiringError> {
    let applied = app::apply(&app, key.as_deref(), form).await?;
    Ok(applied.respond(StatusCode::ACCEPTED))
}

/// The query of `GET /applications`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Only applications with this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// 1 to 500000 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<i64>,
    /// 1 to 200 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<i64>,
}

/// A page of applications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApplicationPage {
    pub page: i64,
    pub per_page: i64,
    pub items: Vec<Application>,
}

/// The last page one may ask for: 200 per page up to 100 million applications, far beyond
/// any real list, and small enough that the offset is nowhere near overflowing.
const MAX_PAGE: i64 = 500_000;

async fn list(
    State(app): State<App>,
    Query(q): Query<PageQuery>,
) -> Result<Json<ApplicationPage>, HiringError> {
    let per_page = q.per_page.unwrap_or(50);
    if !(1..=200).contains(&per_page) {
        return Err(HiringError::invalid("per_page", "must be 1 to 200"));
    }
    let page = q.page.unwrap_or(1);
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(HiringError::invalid(
            "page",
            &format!("must be 1 to {MAX_PAGE}"),
        ));
    }
    // Bounded above, so this cannot overflow; checked all the same, never a negative OFFSET.
    let offset = (page - 1)
        .checked_mul(per_page)
        .ok_or_else(|| HiringError::invalid("page", "is too large"))?;
    let items = app::list_applications(&app, q.status, per_page, offset).await?;
    Ok(Json(ApplicationPage {
        page,
        per_page,
        items,
    }))
}

/// An application and how each of its tests went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApplicationDetail {
    pub application: Application,
    pub tests: Vec<Assignment>,
}

async fn get(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<ApplicationDetail>, HiringError> {
    let (application, tests) = app::application_detail(&app, path_id(&id, "application")?).await?;
    Ok(Json(ApplicationDetail { application, tests }))
}

/// `GET /applications/{id}/photo`: the candidate's photo, with its checked media type.
async fn photo(State(app): State<App>, Path(id): Path<String>) -> Result<Response, HiringError> {
    let (bytes, media_type) = app::photo(&app, path_id(&id, "application")?).await?;
    Ok(([(header::CONTENT_TYPE, media_type)], bytes).into_response())
}

/// The tests to assign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestSet {
    /// 1 to 20 active tests.
    pub test_ids: Vec<TestId>,
}

/// The tests an application now has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Assigned {
    pub application: ApplicationId,
    pub tests: Vec<Assignment>,
}

/// `POST /applications/{id}/tests`: assigns a set of tests and mails the candidate a private
/// link to take them (a new link replaces the old one).
async fn assign_tests(
    State(app): State<App>,
    Path(id): Path<String>,
    Json(set): Json<TestSet>,
) -> Result<Json<Assigned>, HiringError> {
    if set.test_ids.is_empty() || set.test_ids.len() > 20 {
        return Err(HiringError::invalid("test_ids", "give 1 to 20 tests"));
    }
    let id = path_id(&id, "application")?;
    let tests = app::assign_tests(&app, id, &set.test_ids).await?;
    Ok(Json(Assigned {
        application: id,
        tests,
    }))
}

/// A hire: the worker's id and what the results made of her.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Accepted {
    pub application: ApplicationId,
    /// `accepted`.
    pub status: Status,
    pub worker_id: WorkerId,
    /// Skill -> level 0..=100.
    pub characteristics: BTreeMap<String, i64>,
    pub strengths: Vec<String>,
    pub weaknesses: Vec<String>,
}

/// `POST /applications/{id}/accept`: the results become characteristics; WorkerHired.
async fn accept(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Accepted>, HiringError> {
    let (accepted, hired) = app::accept(&app, path_id(&id, "application")?).await?;
    Ok(Json(Accepted {
        application: accepted.id,
        status: accepted.status,
        worker_id: hired.worker_id,
        characteristics: hired.characteristics,
        strengths: hired.strengths,
        weaknesses: hired.weaknesses,
    }))
}

/// Why an application is declined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Decline {
    /// 1 to 500 characters on one line; the candidate reads it.
    pub reason: String,
}

/// A decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Decided {
    pub application: ApplicationId,
    pub status: Status,
}

/// `POST /applications/{id}/decline`: closed with a reason; the candidate is told by mail.
async fn decline(
    State(app): State<App>,
    Path(id): Path<String>,
    Json(d): Json<Decline>,
) -> Result<Json<Decided>, HiringError> {
    let reason = Reason::parse(&d.reason)?;
    let declined = app::decline(&app, path_id(&id, "application")?, &reason).await?;
    Ok(Json(Decided {
        application: declined.id,
        status: declined.status,
    }))
}
