//! `/orders/{id}/review` and `/reviews`: the review form, its revisions, and adjusting the
//! worker in Matching from a review.

use auth::{Principal, Route, Routes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use contracts::OrderId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use web::{IdempotencyKey, Json, Path};

use super::{MANAGERS, bearer, path_id};
use crate::app::ReviewView;
use crate::domain::{AdjustmentIn, ReviewForm, WorkerAdjustment};
use crate::error::QualityError;
use crate::{App, app};

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::post("/orders/{id}/review", MANAGERS)
                .summary(
                    "Write the order's review (one per order: 409 review_exists), linking \
                     the hypotheses it supports",
                )
                .param::<OrderId>("id")
                .idempotency_key()
                .body::<ReviewForm>()
                .returns::<ReviewView>(StatusCode::CREATED),
            open,
        )
        .route(
            Route::get("/reviews/{id}", MANAGERS)
                .summary("A review with every revision, its hypotheses and adjustments")
                .param::<Uuid>("id")
                .returns::<ReviewView>(StatusCode::OK),
            get,
        )
        .route(
            Route::put("/reviews/{id}", MANAGERS)
                .summary(
                    "Edit a review from the revision read: a new revision is appended \
                     (409 stale_revision when someone edited it since)",
                )
                .param::<Uuid>("id")
                .body::<ReviewEdit>()
                .returns::<ReviewView>(StatusCode::OK),
            edit,
        )
        .route(
            Route::post("/reviews/{id}/adjustments", MANAGERS)
                .summary(
                    "Change a skill of the reviewed order's worker in Matching, the review \
                     as the reason (once per review and skill; 503 matching_unavailable \
                     when Matching does not answer: nothing changed)",
                )
                .param::<Uuid>("id")
                .body::<AdjustmentIn>()
                .returns::<WorkerAdjustment>(StatusCode::CREATED)
                .returns::<WorkerAdjustment>(StatusCode::OK),
            adjust,
        )
}

/// The body of `PUT /reviews/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewEdit {
    /// The revision the edit starts from (the latest one read).
    pub from_revision: i64,
    pub review: ReviewForm,
}

async fn open(
    State(app): State<App>,
    who: Principal,
    key: IdempotencyKey,
    Path(id): Path<String>,
    Json(form): Json<ReviewForm>,
) -> Result<Response, QualityError> {
    let order = path_id(&id, "order")?;
    let opened = app::open_review(&app, who.id, order, form, key.as_deref()).await?;
    Ok(opened.respond(StatusCode::CREATED))
}

async fn get(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<ReviewView>, QualityError> {
    Ok(Json(app::review(&app, path_id(&id, "review")?).await?))
}

async fn edit(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
    Json(edit): Json<ReviewEdit>,
) -> Result<Json<ReviewView>, QualityError> {
    let id = path_id(&id, "review")?;
    Ok(Json(
        app::revise_review(&app, who.id, id, edit.from_revision, edit.review).await?,
    ))
}

async fn adjust(
    State(app): State<App>,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<AdjustmentIn>,
) -> Result<Response, QualityError> {
    let review = path_id(&id, "review")?;
    let (made_now, adjustment) =
        app::adjust_worker(&app, who.id, bearer(&headers)?, review, &body).await?;
    let status = if made_now {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(adjustment)).into_response())
}
