//! A manager retires a service type: no new orders of it; old ones live on.

use contracts::ServiceTypeId;

use super::edit_service_type::existing;
use crate::App;
use crate::domain::service_type::ServiceType;
use crate::error::OrderingError;
use crate::store;

/// Retires service type `id` (again: nothing changes).
pub async fn retire_service_type(
    app: &App,
    id: ServiceTypeId,
) -> Result<ServiceType, OrderingError> {
    let mut work = app.ctx.begin().await?;
    let mut t = existing(&mut work, id).await?;
    store::retire_service_type(&mut work, t.id, app.ctx.clock.now()).await?;
    work.commit().await?;
    t.retired = true;
    Ok(t)
}
