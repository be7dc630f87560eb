//! `/boms/{service_type_id}`: what one order of a service type needs.

use auth::{Principal, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use contracts::ServiceTypeId;
use web::{Json, Path};

use super::{SUPPLY, path_id};
use crate::domain::{Bom, BomSpec};
use crate::error::InventoryError;
use crate::{App, app};

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::put("/boms/{service_type_id}", SUPPLY)
                .summary("Write a service type's bill of materials (replaces the one before)")
                .param::<ServiceTypeId>("service_type_id")
                .body::<BomSpec>()
                .returns::<Bom>(StatusCode::OK),
            write,
        )
        .route(
            Route::get("/boms/{service_type_id}", SUPPLY)
                .summary("A service type's bill of materials")
                .param::<ServiceTypeId>("service_type_id")
                .returns::<Bom>(StatusCode::OK),
            get,
        )
}

async fn write(
    State(app): State<App>,
    who: Principal,
    Path(service_type_id): Path<String>,
    Json(spec): Json<BomSpec>,
) -> Result<Json<Bom>, InventoryError> {
    let service_type = path_id(&service_type_id, "service type")?;
    Ok(Json(
        app::write_bom(&app, who.id, service_type, &spec).await?,
    ))
}

async fn get(
    State(app): State<App>,
    Path(service_type_id): Path<String>,
) -> Result<Json<Bom>, InventoryError> {
    let service_type = path_id(&service_type_id, "bill of materials")?;
    Ok(Json(app::bom(&app, service_type).await?))
}
