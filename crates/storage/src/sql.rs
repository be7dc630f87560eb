//! SQL text that differs by backend or is built from parts, written once: row locks,
//! `IN` lists, savepoints.

use sqlx::AnyConnection;

use crate::{Backend, DbError};

/// The clause that claims the selected rows for this transaction, skipping rows another
/// transaction holds, for `conn`'s backend: ` FOR UPDATE SKIP LOCKED` on PostgreSQL
/// (replicas share a queue and each takes rows nobody else is working on); nothing on
/// SQLite, whose single writer needs no row locks. Appended to a `SELECT`.
pub fn skip_locked(conn: &AnyConnection) -> &'static str {
    match Backend::of(conn) {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

/// The clause that locks the selected rows until the transaction ends, waiting for
/// another transaction that holds them, for `conn`'s backend: ` FOR UPDATE` on
/// PostgreSQL; nothing on SQLite (one writer). Appended to a `SELECT`.
pub fn for_update(conn: &AnyConnection) -> &'static str {
    match Backend::of(conn) {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

/// The placeholders of `n` values bound in order from `$first` on, for an `IN (...)` list:
/// `placeholders(2, 3)` is `"$2, $3, $4"`. Only numbers go into the text; the values are
/// bound.
///
/// ```
/// assert_eq!(storage::placeholders(2, 3), "$2, $3, $4");
/// assert_eq!(storage::placeholders(1, 0), "");
/// ```
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A named savepoint in a transaction, so that part of it can be undone while the rest goes
/// on. One level per name: whoever opens it releases or undoes it before opening it again.
#[derive(Debug, Clone, Copy)]
pub struct Savepoint(&'static str);

impl Savepoint {
    /// The savepoint `name` (an SQL identifier: letters, digits and `_`).
    pub const fn named(name: &'static str) -> Savepoint {
        Savepoint(name)
    }

    /// Opens the savepoint.
    pub async fn open(self, conn: &mut AnyConnection) -> Result<(), DbError> {
        self.run(conn, "SAVEPOINT").await
    }

    /// Keeps what was done since it was opened (it commits with the transaction).
    pub async fn release(self, conn: &mut AnyConnection) -> Result<(), DbError> {
        self.run(conn, "RELEASE SAVEPOINT").await
    }

    /// Undoes what was done since it was opened, and closes it; the transaction goes on (on
    /// PostgreSQL this also clears an aborted statement).
    pub async fn undo(self, conn: &mut AnyConnection) -> Result<(), DbError> {
        self.run(conn, "ROLLBACK TO SAVEPOINT").await?;
        self.release(conn).await
    }

    async fn run(self, conn: &mut AnyConnection, statement: &str) -> Result<(), DbError> {
        // Safe: a fixed statement and the name given in the code, no outside value.
        sqlx::query(sqlx::AssertSqlSafe(format!("{statement} {}", self.0)))
            .execute(conn)
            .await?;
        Ok(())
    }
}
