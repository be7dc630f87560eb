//! The tests managers write.

use contracts::TestId;
use storage::{AnyConnection, AnyRow, Row};

use storage::DbError;

use super::{Result, parsed};
use crate::domain::{Test, TestSpec};

fn test_of(r: &AnyRow) -> Result<Test> {
    Ok(Test {
        id: parsed(r, "id")?,
        spec: TestSpec {
            name: r.get("name"),
            characteristic: r.get("characteristic"),
            pass_mark: r.get("pass_mark"),
            questions: serde_json::from_str(&r.get::<String, _>("questions"))
                .map_err(|e| DbError::undecodable(format!("questions: {e}")))?,
        },
        retired: r.get::<Option<i64>, _>("retired_at").is_some(),
    })
}

/// Inserts or replaces the test `id`, at `now`.
pub async fn save_test(conn: &mut AnyConnection, id: TestId, t: &TestSpec, now: i64) -> Result<()> {
    storage::query(
        "INSERT INTO tests (id, name, characteristic, pass_mark, questions, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
         characteristic = excluded.characteristic, pass_mark = excluded.pass_mark, \
         questions = excluded.questions, updated_at = excluded.updated_at",
    )
    .bind(id.to_string())
    .bind(&t.name)
    .bind(&t.characteristic)
    .bind(t.pass_mark)
    .bind(serde_json::to_string(&t.questions).expect("questions serialize"))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Retires an active test at `now`; `false` if there is no such active test.
pub async fn retire_test(conn: &mut AnyConnection, id: TestId, now: i64) -> Result<bool> {
    Ok(
        storage::query("UPDATE tests SET retired_at = $1 WHERE id = $2 AND retired_at IS NULL")
            .bind(now)
            .bind(id.to_string())
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}

pub async fn test(conn: &mut AnyConnection, id: TestId) -> Result<Option<Test>> {
    storage::query("SELECT * FROM tests WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| test_of(&r))
        .transpose()
}

pub async fn tests(conn: &mut AnyConnection) -> Result<Vec<Test>> {
    storage::query("SELECT * FROM tests ORDER BY name, id")
        .fetch_all(conn)
        .await?
        .iter()
        .map(test_of)
        .collect()
}
