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
use storage::{AnyRow, DbError, Row};

type Result<T> = std::result::Result<T, DbError>;

/// A stored value that does not parse: the row is not what this version wrote.
fn undecodable(e: impl std::error::Error + Send + Sync + 'static) -> DbError {
    DbError::Sqlx(sqlx::Error::Decode(Box::new(e)))
}

/// The account id in `column` of a row (ids are stored as their text).
fn account_id(r: &AnyRow, column: &str) -> Result<AccountId> {
    r.get::<String, _>(column).parse().map_err(undecodable)
}
