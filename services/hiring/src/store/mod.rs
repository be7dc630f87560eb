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

use storage::DbError;
pub(crate) use storage::parsed;

type Result<T> = std::result::Result<T, DbError>;
