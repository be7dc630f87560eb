//! A manager changes a service type's name, description, skill, price or duration.

use contracts::ServiceTypeId;
use service::Refused;
use storage::{AnyConnection, DbError};

use crate::App;
use crate::domain::service_type::{ServiceType, ServiceTypeEdit};
use crate::error::OrderingError;
use crate::store;

/// Applies `edit` to service type `id`. Existing orders keep what they were ordered with.
pub async fn edit_service_type(
    app: &App,
    id: ServiceTypeId,
    edit: ServiceTypeEdit,
) -> Result<ServiceType, OrderingError> {
    let mut work = app.ctx.begin().await?;
    let edited = existing(&mut work, id).await?.edited(edit)?;
    store::update_service_type(&mut work, &edited)
        .await
        .map_err(|e| name_taken(e, &edited.name))?;
    work.commit().await?;
    Ok(edited)
}

/// The service type `id`, or 404.
pub(super) async fn existing(
    conn: &mut AnyConnection,
    id: ServiceTypeId,
) -> Result<ServiceType, OrderingError> {
    store::service_type(conn, id)
        .await?
        .ok_or(Refused::NotFound("service type").into())
}

/// Service type names are unique: a clash is the manager's error, not ours.
pub(super) fn name_taken(e: DbError, name: &str) -> OrderingError {
    if e.is_unique_violation() {
        OrderingError::duplicate_service_type(name)
    } else {
        e.into()
    }
}
