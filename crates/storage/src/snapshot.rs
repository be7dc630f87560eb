//! Copies of a SQLite database as of a moment chosen by the caller, taken while its writers
//! go on: [`Db::prepare_copy`] makes the new file with the same schema, [`PreparedCopy::pin`]
//! fixes the moment (a read transaction: a WAL snapshot), and [`PinnedCopy::copy`] fills the
//! new file with every row as of that moment, however long that takes. Backups pin every
//! database of a process while its writers are paused ([`Db::pause_writes`]), so the pause
//! lasts as long as the pins (a read each), not as long as the copies.

use std::path::{Path, PathBuf};

use sqlx::{AnyConnection, Connection, Row};

use crate::{Backend, Db, DbError};

/// What the copy's connection calls the new file.
const TARGET: &str = "backup_copy";

/// A new file with the database's schema, attached to a connection of its own, waiting for
/// its moment ([`PreparedCopy::pin`]).
pub struct PreparedCopy {
    conn: AnyConnection,
    target: PathBuf,
    /// The tables to copy, `sqlite_sequence` (AUTOINCREMENT's counters) apart.
    tables: Vec<String>,
    sequence: bool,
    /// Triggers and views, made once the rows are in: a trigger must not act on the copy's
    /// own inserts.
    late: Vec<String>,
}

/// A copy whose moment is fixed: [`PinnedCopy::copy`] writes what the database held then.
pub struct PinnedCopy {
    prepared: PreparedCopy,
}

fn refuse(why: String) -> DbError {
    DbError::Sqlx(sqlx::Error::Configuration(why.into()))
}

/// `name` as an SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Db {
    /// SQLite: creates the new file `path` (it must not exist) with this database's schema
    /// (tables, indexes, triggers, views, as the database's own `CREATE` statements) and
    /// attaches it to a connection of its own, taken out of the pool. Nothing is read yet:
    /// the moment of the copy is [`PreparedCopy::pin`]'s.
    pub async fn prepare_copy(&self, path: &Path) -> Result<PreparedCopy, DbError> {
        if self.backend() != Backend::Sqlite {
            return Err(refuse(
                "only SQLite databases are copied this way (PostgreSQL: pg_dump)".into(),
            ));
        }
        let target = path
            .to_str()
            .ok_or_else(|| refuse(format!("{}: not a UTF-8 path", path.display())))?;
        if path.exists() {
            return Err(refuse(format!(
                "{target} exists: a copy goes into a new file"
            )));
        }
        let mut conn = self.pool().acquire().await?.detach();
        // The schema as it was created, in its order (tables before their indexes).
        let schema = sqlx::query(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL \
             AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
        )
        .fetch_all(&mut conn)
        .await?;
        let sequence: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'",
        )
        .fetch_one(&mut conn)
        .await?;
        let (mut tables, mut late) = (Vec::new(), Vec::new());
        let mut new = AnyConnection::connect(&crate::sqlite_url(path)).await?;
        for row in &schema {
            let (kind, name, sql): (String, String, String) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            if kind == "trigger" || kind == "view" {
                late.push(sql);
                continue;
            }
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut new)
                .await?;
            if kind == "table" {
                tables.push(name);
            }
        }
        new.close().await?;
        // Rows go in table by table: a row may name one of a table not copied yet.
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut conn)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ATTACH DATABASE $1 AS {TARGET}"
        )))
        .bind(target)
        .execute(&mut conn)
        .await?;
        Ok(PreparedCopy {
            conn,
            target: path.to_owned(),
            tables,
            sequence: sequence > 0,
            late,
        })
    }
}

impl PreparedCopy {
    /// Fixes the copy's moment: a read transaction begins and reads, so the copy sees the
    /// database as committed now, whatever is committed later. Cheap (one read); pair it
    /// with [`Db::pause_writes`] to pin several databases at one moment.
    pub async fn pin(mut self) -> Result<PinnedCopy, DbError> {
        sqlx::query("BEGIN").execute(&mut self.conn).await?;
        sqlx::query("SELECT COUNT(*) FROM main.sqlite_master")
            .fetch_one(&mut self.conn)
            .await?;
        Ok(PinnedCopy { prepared: self })
    }
}

impl PinnedCopy {
    /// Writes every row as of the pinned moment into the new file, commits it and lets the
    /// connection go. Writers of the database are not held meanwhile.
    pub async fn copy(self) -> Result<PathBuf, DbError> {
        let PreparedCopy {
            mut conn,
            target,
            tables,
            sequence,
            late,
        } = self.prepared;
        for table in &tables {
            let name = quoted(table);
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {TARGET}.{name} SELECT * FROM main.{name}"
            )))
            .execute(&mut conn)
            .await?;
        }
        if sequence {
            // The inserts counted AUTOINCREMENT anew; the database's own counters are what
            // keep ids of deleted rows from coming back.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {TARGET}.sqlite_sequence"
            )))
            .execute(&mut conn)
            .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {TARGET}.sqlite_sequence SELECT * FROM main.sqlite_sequence"
            )))
            .execute(&mut conn)
            .await?;
        }
        sqlx::query("COMMIT").execute(&mut conn).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("DETACH DATABASE {TARGET}")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        if !late.is_empty() {
            let mut new = AnyConnection::connect(&crate::sqlite_url(&target)).await?;
            for sql in late {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut new)
                    .await?;
            }
            new.close().await?;
        }
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Db, DbOptions, sqlite_url};

    async fn run(db: &Db, sql: &str) {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(db.pool())
            .await
            .unwrap();
    }

    /// Given a database with an AUTOINCREMENT table whose last row was deleted, an index and
    /// a trigger, when a copy is pinned, a row written after and the copy made, then the copy
    /// holds the rows as pinned, the counters (a deleted id never comes back), the index
    /// and the trigger; the database keeps the later row.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pinned_copy_holds_the_database_as_of_its_pin() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(
            &sqlite_url(&dir.path().join("a.sqlite")),
            &DbOptions::default(),
        )
        .await
        .unwrap();
        run(
            &db,
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT NOT NULL)",
        )
        .await;
        run(&db, "CREATE INDEX t_by_v ON t (v)").await;
        run(&db, "INSERT INTO t (v) VALUES ('a'), ('b'), ('c')").await;
        run(&db, "DELETE FROM t WHERE id = 3").await;
        run(
            &db,
            "CREATE TRIGGER t_kept BEFORE DELETE ON t BEGIN SELECT RAISE(ABORT, 'kept'); END",
        )
        .await;
        let path = dir.path().join("copy.sqlite");
        let prepared = db.prepare_copy(&path).await.unwrap();
        let pinned = prepared.pin().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        sqlx::query("INSERT INTO t (v) VALUES ('later')")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(pinned.copy().await.unwrap(), path);

        let copy = Db::connect(&sqlite_url(&path), &DbOptions::default())
            .await
            .unwrap();
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM t ORDER BY id")
            .fetch_all(copy.pool())
            .await
            .unwrap();
        assert_eq!(ids, [1, 2]);
        let seq: i64 = sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 't'")
            .fetch_one(copy.pool())
            .await
            .unwrap();
        assert_eq!(seq, 3, "the copy would hand out id 3 again");
        let objects: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE name IN ('t_by_v', 't_kept') ORDER BY name",
        )
        .fetch_all(copy.pool())
        .await
        .unwrap();
        assert_eq!(objects, ["t_by_v", "t_kept"]);
        assert!(
            sqlx::query("DELETE FROM t")
                .execute(copy.pool())
                .await
                .is_err(),
            "the trigger holds in the copy"
        );
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM t ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
        assert_eq!(ids, [1, 2, 4]);
        // A copy goes into a new file only.
        assert!(db.prepare_copy(&path).await.is_err());
    }
}
