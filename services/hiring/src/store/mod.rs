//! Hiring's tables: SQL only. Every function reads or writes rows on the connection it is
//! given (a [`messaging::Work`] derefs to one) and returns `DbError`; none publishes, none
//! decides. Times are the business clock's, passed in as unix microseconds.

mod applications;
mod people;
mod tests;

pub use applications::{
    Assignment, application, application_by_link, applications, assign, assignments, decide,
    insert_application, photo, record, set_link,
};
pub use people::{account_by_email, upsert_person};
pub use tests::{retire_test, save_test, test, tests};

use storage::{AnyRow, DbError, Row};

type Result<T> = std::result::Result<T, DbError>;

/// A stored value that does not parse (only a bug or a hand edit makes one).
fn undecodable(message: String) -> DbError {
    DbError::Sqlx(sqlx::Error::Decode(message.into()))
}

/// Column `column` of `row`, parsed (a typed id stored as text).
fn parsed<T>(row: &AnyRow, column: &str) -> Result<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text: String = row.get(column);
    text.parse()
        .map_err(|e| undecodable(format!("{column} {text:?}: {e}")))
}
