//! IAM's tables: SQL only. Every function reads or writes rows on the connection it is
//! given (a [`messaging::Work`] for writes) and returns [`DbError`]; none publishes, none
//! reads the clock (times come in as unix microseconds).

mod accounts;
mod clients;
mod federation;
mod grants;
mod links;
mod throttle;

pub use accounts::*;
pub use clients::*;
pub use federation::*;
pub use grants::*;
pub use links::*;
pub use throttle::*;

use contracts::AccountId;
use storage::{AnyRow, DbError};

type Result<T> = std::result::Result<T, DbError>;

/// The account id in `column` of a row (ids are stored as their text).
fn account_id(r: &AnyRow, column: &str) -> Result<AccountId> {
    storage::parsed(r, column)
}
