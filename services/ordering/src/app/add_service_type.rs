//! A manager adds a service to the catalog.

use contracts::AccountId;
use messaging::idempotency::Keyed;

use super::Created;
use crate::App;
use crate::domain::service_type::{NewServiceType, ServiceType};
use crate::error::OrderingError;
use crate::store;

/// `who` adds `new` to the catalog; its name must be free. With an idempotency `key`, the
/// same request again gets the first type back.
pub async fn add_service_type(
    app: &App,
    who: AccountId,
    new: NewServiceType,
    key: Option<&str>,
) -> Result<Created<ServiceType>, OrderingError> {
    let mut work = app.ctx.begin().await?;
    let scope = format!("{who} POST /service-types");
    let ticket = match work.claim_key(&scope, key, &new).await? {
        Keyed::Go(ticket) => ticket,
        Keyed::Replay { body, .. } => return Ok(Created::Replayed(serde_json::from_str(&body)?)),
    };
    // A refused type drops the work: the key stays unused for the corrected request.
    let service_type = new.validate()?;
    store::insert_service_type(&mut work, &service_type, app.ctx.clock.now())
        .await
        .map_err(|e| super::edit_service_type::name_taken(e, &service_type.name))?;
    work.answer(ticket, 201, &service_type).await?;
    work.commit().await?;
    Ok(Created::New(service_type))
}
