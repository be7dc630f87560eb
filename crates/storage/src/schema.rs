//! A backend-neutral description of a database's tables, so a test can prove that a
//! service's SQLite and PostgreSQL migrations produce the same schema.

use sqlx::Row;

use crate::{Backend, Db, DbError};

/// One column, with its type reduced to the portable classes we allow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Column {
    pub table: String,
    pub name: String,
    /// `integer`, `text`, `bytes`, `float` or `other:<raw>`.
    pub class: String,
    pub nullable: bool,
}

/// Every column of every application table (migration bookkeeping excluded), sorted.
pub async fn describe(db: &Db) -> Result<Vec<Column>, DbError> {
    let rows = match db.backend() {
        Backend::Sqlite => {
            sqlx::query(
                "SELECT m.name AS t, p.name AS c, p.type AS ty, \
                 CAST(p.\"notnull\" AS BIGINT) AS nn, CAST(p.pk AS BIGINT) AS pk \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
                 AND m.name NOT LIKE '_sqlx%'",
            )
            .fetch_all(db.pool())
            .await?
        }
        Backend::Postgres => {
            sqlx::query(
                "SELECT c.table_name::TEXT AS t, c.column_name::TEXT AS c, \
                 c.data_type::TEXT AS ty, \
                 CAST(CASE WHEN c.is_nullable = 'NO' THEN 1 ELSE 0 END AS BIGINT) AS nn, \
                 CAST(0 AS BIGINT) AS pk \
                 FROM information_schema.columns c \
                 WHERE c.table_schema = current_schema() AND c.table_name NOT LIKE '_sqlx%'",
            )
            .fetch_all(db.pool())
            .await?
        }
    };
    let mut columns = rows
        .into_iter()
        .map(|r| {
            let ty: String = r.get("ty");
            let not_null: i64 = r.get("nn");
            let pk: i64 = r.get("pk");
            Column {
                table: r.get("t"),
                name: r.get("c"),
                class: type_class(&ty),
                nullable: not_null == 0 && pk == 0,
            }
        })
        .collect::<Vec<_>>();
    columns.sort();
    Ok(columns)
}

fn type_class(raw: &str) -> String {
    let t = raw.to_ascii_lowercase();
    let class = match t.as_str() {
        "integer" | "bigint" | "int" | "int8" | "int4" | "smallint" => "integer",
        "text" | "character varying" | "varchar" => "text",
        "blob" | "bytea" => "bytes",
        "real" | "double precision" | "float8" => "float",
        _ => return format!("other:{t}"),
    };
    class.to_owned()
}

#[cfg(test)]
mod tests {
    use super::type_class;

    #[test]
    fn portable_types_map_to_the_same_class() {
        assert_eq!(type_class("BIGINT"), type_class("integer"));
        assert_eq!(type_class("TEXT"), type_class("text"));
        assert_eq!(type_class("BLOB"), type_class("bytea"));
        assert_eq!(type_class("DOUBLE PRECISION"), type_class("REAL"));
        assert_eq!(type_class("BOOLEAN"), "other:boolean");
    }
}
