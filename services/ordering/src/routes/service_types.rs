//! `/service-types`: the catalog.

use auth::{Access, Principal, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use contracts::ServiceTypeId;
use serde::{Deserialize, Serialize};
use web::{IdempotencyKey, Json, Path, Query};

use super::{STAFF, created, service_type_id};
use crate::domain::service_type::{NewServiceType, ServiceType, ServiceTypeEdit};
use crate::error::OrderingError;
use crate::{App, app};

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::post("/service-types", Access::Roles(STAFF))
                .summary("Add a service type to the catalog")
                .idempotency_key()
                .body::<NewServiceType>()
                .returns::<ServiceType>(StatusCode::CREATED)
                .returns::<ServiceType>(StatusCode::OK),
            create,
        )
        .route(
            Route::get("/service-types", Access::SignedIn)
                .summary("The catalog by name")
                .query::<ServiceTypeListQuery>()
                .returns::<Vec<ServiceType>>(StatusCode::OK),
            list,
        )
        .route(
            Route::patch("/service-types/{id}", Access::Roles(STAFF))
                .summary("Change a service type (orders made keep what they had)")
                .param::<ServiceTypeId>("id")
                .body::<ServiceTypeEdit>()
                .returns::<ServiceType>(StatusCode::OK),
            edit,
        )
        .route(
            Route::post("/service-types/{id}/retire", Access::Roles(STAFF))
                .summary("Retire a service type: no new orders of it")
                .param::<ServiceTypeId>("id")
                .returns::<ServiceType>(StatusCode::OK),
            retire,
        )
}

/// `POST /service-types`: a manager adds a service to the catalog (201; a retry with the
/// same `Idempotency-Key` and body gets it again with 200).
async fn create(
    State(app): State<App>,
    who: Principal,
    key: IdempotencyKey,
    Json(new): Json<NewServiceType>,
) -> Result<Response, OrderingError> {
    let made = app::add_service_type(&app, who.id, new, key.as_deref()).await?;
    Ok(created(made, None))
}

/// The query of `GET /service-types`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceTypeListQuery {
    /// Staff only: list retired types too.
    #[serde(default)]
    pub include_retired: bool,
}

/// `GET /service-types?include_retired=`.
async fn list(
    State(app): State<App>,
    who: Principal,
    Query(q): Query<ServiceTypeListQuery>,
) -> Result<Json<Vec<ServiceType>>, OrderingError> {
    Ok(Json(
        app::service_types(&app, &who, q.include_retired).await?,
    ))
}

/// `PATCH /service-types/{id}`: change name, description, skill, price or duration.
async fn edit(
    State(app): State<App>,
    Path(id): Path<String>,
    Json(edit): Json<ServiceTypeEdit>,
) -> Result<Json<ServiceType>, OrderingError> {
    let id = service_type_id(&id)?;
    Ok(Json(app::edit_service_type(&app, id, edit).await?))
}

/// `POST /service-types/{id}/retire`: no new orders of this type; old ones live on.
async fn retire(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<ServiceType>, OrderingError> {
    let id = service_type_id(&id)?;
    Ok(Json(app::retire_service_type(&app, id).await?))
}
