use axum::extract::State;
use axum::http::StatusCode;
use web::Json;

use crate::App;
use crate::domain::service_type::{NewServiceType, ServiceType};
use crate::error::OrderingError;
use crate::store;

/// `POST /service-types`: a manager adds a service to the catalog.
pub async fn create(
    State(app): State<App>,
    Json(new): Json<NewServiceType>,
) -> Result<(StatusCode, Json<ServiceType>), OrderingError> {
    let service_type = new.validate()?;
    let mut tx = app.rt.db.begin().await?;
    store::insert_service_type(&mut tx, &service_type).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(service_type)))
}

/// `GET /service-types`: the catalog, by name.
pub async fn list(State(app): State<App>) -> Result<Json<Vec<ServiceType>>, OrderingError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    Ok(Json(store::service_types(&mut conn).await?))
}
