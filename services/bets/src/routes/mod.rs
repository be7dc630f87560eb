//! Bets' HTTP API and who may call it: one file per resource (bets, stakes), each
//! declaring its routes (access, what they take and answer) and calling `app/`. Only
//! managers bet; admins may read.

mod bets;
mod stakes;

pub use bets::BetQuery;

use auth::{Access, Role, Routes};
use service::Refused;

use crate::App;
use crate::error::BetsError;

/// Who bets: managers.
const MANAGERS: Access = Access::Roles(&[Role::Manager]);
/// Who reads bets: managers and admins.
const READERS: Access = Access::Roles(&[Role::Manager, Role::Admin]);

/// Every route of Bets.
pub fn routes() -> Routes<App> {
    Routes::new()
        .include(bets::routes())
        .include(stakes::routes())
}

/// An id from the path; a malformed one names nothing: "not found".
fn path_id<T: std::str::FromStr>(id: &str, what: &'static str) -> Result<T, BetsError> {
    id.parse().map_err(|_| Refused::NotFound(what).into())
}
