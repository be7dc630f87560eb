//! `/queue` and `/samples`: the review queue and the random samples that feed it.

use auth::{Principal, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use web::{IdempotencyKey, Json, Path, Query};

use super::{MANAGERS, limit, path_id};
use crate::app::QueueEntry;
use crate::domain::QueueReason;
use crate::error::QualityError;
use crate::store::Draw;
use crate::{App, app};

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::get("/queue", MANAGERS)
                .summary(
                    "The review queue, newest first: failed and canceled orders (they enter \
                     by themselves) and sampled completed ones",
                )
                .query::<QueueQuery>()
                .returns::<Vec<QueueEntry>>(StatusCode::OK),
            queue,
        )
        .route(
            Route::post("/samples", MANAGERS)
                .summary(
                    "Draw a random sample of completed orders not reviewed or drawn before \
                     into the queue; recorded with who, when and the seed",
                )
                .idempotency_key()
                .body::<DrawRequest>()
                .returns::<Draw>(StatusCode::CREATED),
            draw,
        )
        .route(
            Route::get("/samples", MANAGERS)
                .summary("The samples drawn, newest first (at most 100)")
                .returns::<Vec<Draw>>(StatusCode::OK),
            draws,
        )
        .route(
            Route::get("/samples/{id}", MANAGERS)
                .summary("One sample: who drew it, when, the seed and its orders")
                .param::<Uuid>("id")
                .returns::<Draw>(StatusCode::OK),
            get_draw,
        )
}

/// The query of `GET /queue`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// false: only orders not reviewed yet; true: only reviewed ones; absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<QueueReason>,
    /// 1 to 500 (100 if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// The body of `POST /samples`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawRequest {
    /// How many completed orders to draw (1 to `quality.max_sample_size`, 100 by default).
    pub size: i64,
    /// The generator's seed; a random one when absent (recorded either way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
}

async fn queue(
    State(app): State<App>,
    Query(q): Query<QueueQuery>,
) -> Result<Json<Vec<QueueEntry>>, QualityError> {
    let limit = limit(q.limit, 100, 500)?;
    Ok(Json(app::queue(&app, q.reviewed, q.reason, limit).await?))
}

async fn draw(
    State(app): State<App>,
    who: Principal,
    key: IdempotencyKey,
    Json(body): Json<DrawRequest>,
) -> Result<Response, QualityError> {
    let drawn = app::draw_sample(&app, who.id, body.size, body.seed, key.as_deref()).await?;
    Ok(drawn.respond(StatusCode::CREATED))
}

async fn draws(State(app): State<App>) -> Result<Json<Vec<Draw>>, QualityError> {
    Ok(Json(app::draws(&app, 100).await?))
}

async fn get_draw(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Draw>, QualityError> {
    Ok(Json(app::draw(&app, path_id(&id, "sample")?).await?))
}
