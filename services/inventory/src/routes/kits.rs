//! `/kits`: the supply staff's queue and the Issued button.

use auth::{Access, Principal, Role, Route, Routes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use contracts::KitId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use web::{Json, Path, Query};

use super::{SUPPLY, path_id};
use crate::app::KitView;
use crate::domain::KitState;
use crate::error::InventoryError;
use crate::{App, app};

/// Who may print a kit's acceptance form: supply staff, managers, admins, and workers (only
/// the form of their own job: the use case checks).
const FORM_READERS: Access =
    Access::Roles(&[Role::Supply, Role::Manager, Role::Admin, Role::Worker]);

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::get("/kits", SUPPLY)
                .summary(
                    "Kits, soonest job first (at most 500), with what each is short of and \
                     who is responsible (mine=true: only the caller's)",
                )
                .query::<KitQuery>()
                .returns::<Vec<KitView>>(StatusCode::OK),
            list,
        )
        .route(
            Route::get("/kits/{id}", SUPPLY)
                .summary("A kit: what goes in and what stock is short of for it")
                .param::<KitId>("id")
                .returns::<KitView>(StatusCode::OK),
            get,
        )
        .route(
            Route::get("/kits/{id}/form", FORM_READERS)
                .summary(
                    "The job acceptance form of the kit's order (PDF): the order's facts, \
                     its id as text and QR code, a box for the client's signature",
                )
                .param::<KitId>("id")
                .returns_media(StatusCode::OK, "application/pdf"),
            form,
        )
        .route(
            Route::post("/kits/{id}/issue", SUPPLY)
                .summary(
                    "Issued: its consumables leave stock and inventory.kit.issued is \
                     published (409 consumables_short while stock does not cover it)",
                )
                .param::<KitId>("id")
                .returns::<KitView>(StatusCode::OK),
            issue,
        )
}

/// The query of `GET /kits`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KitQuery {
    /// Only kits in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<KitState>,
    /// Only the kits the caller is the responsible supply employee of.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mine: bool,
}

async fn list(
    State(app): State<App>,
    who: Principal,
    Query(query): Query<KitQuery>,
) -> Result<Json<Vec<KitView>>, InventoryError> {
    let responsible = query.mine.then_some(who.id);
    Ok(Json(app::kits(&app, query.state, responsible).await?))
}

async fn get(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<KitView>, InventoryError> {
    Ok(Json(app::kit(&app, path_id(&id, "kit")?).await?))
}

async fn issue(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<KitView>, InventoryError> {
    Ok(Json(
        app::issue_kit(&app, who.id, path_id(&id, "kit")?).await?,
    ))
}

async fn form(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, InventoryError> {
    let pdf = app::form(&app, &who, path_id(&id, "kit")?).await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}
