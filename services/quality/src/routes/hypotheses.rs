//! `/hypotheses`: the register of hypotheses for the business.

use auth::{Principal, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use web::{Json, Path, Query};

use super::{MANAGERS, limit, path_id};
use crate::domain::{Hypothesis, NewHypothesis, Tags};
use crate::error::QualityError;
use crate::{App, app};

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::post("/hypotheses", MANAGERS)
                .summary("Add a hypothesis to the register, with tags")
                .body::<NewHypothesis>()
                .returns::<Hypothesis>(StatusCode::CREATED),
            add,
        )
        .route(
            Route::get("/hypotheses", MANAGERS)
                .summary("The register, newest first, with tags and supporting reviews")
                .query::<HypothesisQuery>()
                .returns::<Vec<Hypothesis>>(StatusCode::OK),
            list,
        )
        .route(
            Route::get("/hypotheses/{id}", MANAGERS)
                .summary("A hypothesis with its tags and the reviews that support it")
                .param::<Uuid>("id")
                .returns::<Hypothesis>(StatusCode::OK),
            get,
        )
        .route(
            Route::put("/hypotheses/{id}/tags", MANAGERS)
                .summary("Replace a hypothesis's tags")
                .param::<Uuid>("id")
                .body::<Tags>()
                .returns::<Hypothesis>(StatusCode::OK),
            tag,
        )
}

/// The query of `GET /hypotheses`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HypothesisQuery {
    /// Only those with this tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// 1 to 500 (100 if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

async fn add(
    State(app): State<App>,
    who: Principal,
    Json(new): Json<NewHypothesis>,
) -> Result<(StatusCode, Json<Hypothesis>), QualityError> {
    Ok((
        StatusCode::CREATED,
        Json(app::add_hypothesis(&app, who.id, &new).await?),
    ))
}

async fn list(
    State(app): State<App>,
    Query(q): Query<HypothesisQuery>,
) -> Result<Json<Vec<Hypothesis>>, QualityError> {
    let limit = limit(q.limit, 100, 500)?;
    let tag = q.tag.map(|t| t.trim().to_lowercase());
    Ok(Json(app::hypotheses(&app, tag.as_deref(), limit).await?))
}

async fn get(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Hypothesis>, QualityError> {
    Ok(Json(
        app::hypothesis(&app, path_id(&id, "hypothesis")?).await?,
    ))
}

async fn tag(
    State(app): State<App>,
    Path(id): Path<String>,
    Json(tags): Json<Tags>,
) -> Result<Json<Hypothesis>, QualityError> {
    let id = path_id(&id, "hypothesis")?;
    Ok(Json(app::tag_hypothesis(&app, id, &tags.tags).await?))
}
