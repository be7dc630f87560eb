//! Storage for MCF services: one database per service, SQLite or PostgreSQL chosen at run
//! time by URL, one SQL text for both.
//!
//! Queries go through sqlx's `Any` driver, so columns stay portable: ids and text as `TEXT`,
//! money, times (unix microseconds) and counters as `BIGINT`, flags as `INTEGER` 0/1.
//! Backend-specific SQL is kept to the few places where it pays (claiming work with
//! `FOR UPDATE SKIP LOCKED`), decided here once ([`skip_locked`], [`for_update`]).

mod db;
mod error;
mod group;
pub mod objects;
pub mod schema;
mod snapshot;
mod sql;

pub use db::{Backend, Db, DbOptions, Migrations, Tx, WritePause, sqlite_url};
pub use error::DbError;
pub use objects::{Objects, ObjectsError};
pub use snapshot::{PinnedCopy, PreparedCopy};
pub use sql::{Savepoint, for_update, placeholders, skip_locked};
pub use sqlx::any::AnyRow;
pub use sqlx::{AnyConnection, Row, migrate::Migrator, query, query_as, query_scalar};
pub use storage_macros::migrations;

/// Column `column` of `row`, stored as text and parsed (a typed id, a state): a value that
/// does not parse is [`DbError::undecodable`], naming the column and the value.
pub fn parsed<T>(row: &AnyRow, column: &str) -> Result<T, DbError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text: String = row.get(column);
    parse_text(column, &text)
}

/// Column `column` of `row`, nullable text parsed as [`parsed`] does: `None` for NULL.
pub fn parsed_opt<T>(row: &AnyRow, column: &str) -> Result<Option<T>, DbError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text: Option<String> = row.get(column);
    text.map(|text| parse_text(column, &text)).transpose()
}

fn parse_text<T>(column: &str, text: &str) -> Result<T, DbError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| DbError::undecodable(format!("{column} {text:?}: {e}")))
}

/// Counts per key: `sql` answers rows of a text `key` and a `BIGINT` `n`, e.g.
/// `SELECT status AS key, COUNT(*) AS n FROM orders GROUP BY status` (operators' counters).
pub async fn counts<'e, E>(
    executor: E,
    sql: &'static str,
) -> Result<std::collections::BTreeMap<String, i64>, DbError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(query(sql)
        .fetch_all(executor)
        .await?
        .into_iter()
        .map(|r| (r.get("key"), r.get("n")))
        .collect())
}

/// Current time as unix microseconds, the one time representation in every table.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// A time as stored: unix microseconds.
pub fn micros(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}

/// A stored time (unix microseconds) back as a time.
pub fn time(us: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(us).unwrap_or_default()
}
