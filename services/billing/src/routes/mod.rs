//! Billing's HTTP API, one file per resource: the whole ledger (`/trial-balance`),
//! statements (`/me/...`, `/accounts/{account}/statement`, `/summary`), managers' awards
//! (`/awards`) and Bets' calls (`/bets/...`).

mod awards;
mod bets;
mod clock;
mod invoices;
mod ledger;
mod statements;

pub use statements::SummaryQuery;

use auth::{Access, Principal, Role, Routes};
use service::Refused;

use crate::App;
use crate::app::Reader;
use crate::domain::LedgerAccount;
use crate::error::BillingError;

/// Managers and admins: they see every account.
const STAFF: Access = Access::Roles(&[Role::Manager, Role::Admin]);

/// Every route of Billing.
pub fn routes() -> Routes<App> {
    Routes::new()
        .include(ledger::routes())
        .include(statements::routes())
        .include(awards::routes())
        .include(bets::routes())
        .include(invoices::routes())
        .include(clock::routes())
}

/// Who is asking, as the use cases see it: managers and admins see every account.
fn reader(who: &Principal) -> Reader {
    Reader {
        id: who.id,
        sees_all: who.has(Role::Manager) || who.has(Role::Admin),
    }
}

/// A path account that does not parse names nothing: "not found".
fn path_account(text: &str) -> Result<LedgerAccount, BillingError> {
    text.parse()
        .map_err(|_| Refused::NotFound("account").into())
}
