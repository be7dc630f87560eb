//! A manager adds a service to the catalog.

use contracts::AccountId;
use messaging::idempotency::request_hash;

use super::{Created, Keyed, claim, commit_created};
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
    let hash = request_hash(&[&serde_json::to_vec(&new)?]);
    let service_type = new.validate()?;
    let mut work = app.ctx.begin().await?;
    let scope = format!("{who} POST /service-types");
    let fresh = match claim(&mut work, &scope, key, &hash).await? {
        Keyed::Fresh(fresh) => fresh,
        Keyed::Replayed(first) => return Ok(Created::Replayed(first)),
    };
    store::insert_service_type(&mut work, &service_type, app.ctx.clock.now())
        .await
        .map_err(|e| super::edit_service_type::name_taken(e, &service_type.name))?;
    commit_created(work, fresh, &service_type).await?;
    Ok(Created::New(service_type))
}
