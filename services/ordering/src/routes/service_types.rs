use axum::extract::State;
use axum::http::StatusCode;
use contracts::ServiceTypeId;
use serde::Deserialize;
use uuid::Uuid;
use web::{Json, Path, Query};

use auth::Principal;

use super::STAFF;
use crate::App;
use crate::domain::service_type::{NewServiceType, ServiceType, ServiceTypeEdit};
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    include_retired: bool,
}

/// `GET /service-types?include_retired=`: the catalog by name. Retired types are listed
/// for staff who ask; clients only ever see what they can order.
pub async fn list(
    State(app): State<App>,
    who: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<ServiceType>>, OrderingError> {
    let include_retired = q.include_retired && who.require(STAFF).is_ok();
    let mut conn = app.rt.db.pool().acquire().await?;
    Ok(Json(
        store::service_types(&mut conn, include_retired).await?,
    ))
}

async fn existing(tx: &mut storage::Tx, id: &str) -> Result<ServiceType, OrderingError> {
    let id = Uuid::parse_str(id)
        .map(ServiceTypeId::from_uuid)
        .map_err(|_| OrderingError::NotFound("service type"))?;
    store::service_type(tx, id)
        .await?
        .ok_or(OrderingError::NotFound("service type"))
}

/// `PATCH /service-types/{id}`: change name, description, skill, price or duration.
/// Existing orders keep what they were ordered with.
pub async fn edit(
    State(app): State<App>,
    Path(id): Path<String>,
    Json(edit): Json<ServiceTypeEdit>,
) -> Result<Json<ServiceType>, OrderingError> {
    let mut tx = app.rt.db.begin().await?;
    let edited = existing(&mut tx, &id).await?.edited(edit)?;
    store::update_service_type(&mut tx, &edited).await?;
    tx.commit().await?;
    Ok(Json(edited))
}

/// `POST /service-types/{id}/retire`: no new orders of this type; old ones live on.
pub async fn retire(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<ServiceType>, OrderingError> {
    let mut tx = app.rt.db.begin().await?;
    let mut t = existing(&mut tx, &id).await?;
    store::retire_service_type(&mut tx, t.id).await?;
    tx.commit().await?;
    t.retired = true;
    Ok(Json(t))
}
