//! Matching's tables, by concern. SQL only: every function reads or writes rows and returns
//! [`DbError`]; none decides or publishes. Times come in from the caller (the business
//! clock).
//!
//! - [`roster`]: the roster lock every roster writer takes, and the full or per-worker
//!   load of normal samples with their bookings and history.
//! - [`changes`]: the roster change log replicas follow (`roster_changes`).
//! - [`samples`]: normal samples (`normal_samples`).
//! - [`references`]: reference samples and their decisions (`reference_samples`).
//! - [`results`]: how workers' orders ended (`sample_results`).
//! - [`adjustments`]: the audit of skill levels (`sample_adjustments`).

pub mod adjustments;
pub mod changes;
pub mod references;
pub mod results;
pub mod roster;
pub mod samples;

use storage::DbError;

pub use roster::lock_roster;

type Result<T> = std::result::Result<T, DbError>;

/// A value that cannot be written as JSON.
fn unwritable(e: serde_json::Error) -> DbError {
    DbError::Sqlx(sqlx::Error::Encode(Box::new(e)))
}

/// A JSON column.
fn json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(DbError::undecodable)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(unwritable)
}
