//! The register of hypotheses and their tags.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use contracts::AccountId;
use storage::{AnyConnection, Row};
use uuid::Uuid;

use super::{Result, uuid};
use crate::domain::Hypothesis;

/// Adds a hypothesis with its tags.
pub async fn insert_hypothesis(
    conn: &mut AnyConnection,
    id: Uuid,
    statement: &str,
    tags: &[String],
    author: AccountId,
    at: DateTime<Utc>,
) -> Result<()> {
    storage::query(
        "INSERT INTO hypotheses (id, statement, author, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id.to_string())
    .bind(statement)
    .bind(author.to_string())
    .bind(storage::micros(at))
    .execute(&mut *conn)
    .await?;
    set_tags(conn, id, tags).await
}

/// Replaces the tags of hypothesis `id`.
pub async fn set_tags(conn: &mut AnyConnection, id: Uuid, tags: &[String]) -> Result<()> {
    storage::query("DELETE FROM hypothesis_tags WHERE hypothesis_id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    for tag in tags {
        storage::query("INSERT INTO hypothesis_tags (hypothesis_id, tag) VALUES ($1, $2)")
            .bind(id.to_string())
            .bind(tag)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Those of `ids` the register does not hold.
pub async fn unknown_hypotheses(conn: &mut AnyConnection, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    let mut unknown = Vec::new();
    for id in ids {
        let known: i64 = storage::query_scalar("SELECT COUNT(*) FROM hypotheses WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(&mut *conn)
            .await?;
        if known == 0 {
            unknown.push(*id);
        }
    }
    Ok(unknown)
}

/// The hypotheses (all, or those tagged `tag`), newest first, at most `limit`, with their
/// tags and supporting reviews.
pub async fn hypotheses(
    conn: &mut AnyConnection,
    tag: Option<&str>,
    limit: i64,
) -> Result<Vec<Hypothesis>> {
    let rows = storage::query(
        "SELECT id, statement, author, created_at FROM hypotheses h \
         WHERE $1 = '' OR EXISTS (SELECT 1 FROM hypothesis_tags t \
                                  WHERE t.hypothesis_id = h.id AND t.tag = $1) \
         ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(tag.unwrap_or(""))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id = uuid(r, "id")?;
        out.push(Hypothesis {
            id,
            statement: r.get("statement"),
            author: storage::parsed(r, "author")?,
            created_at: storage::time(r.get("created_at")),
            tags: Vec::new(),
            reviews: Vec::new(),
        });
    }
    fill(conn, &mut out).await?;
    Ok(out)
}

/// Hypothesis `id`.
pub async fn hypothesis(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Hypothesis>> {
    let Some(r) =
        storage::query("SELECT id, statement, author, created_at FROM hypotheses WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(None);
    };
    let mut one = vec![Hypothesis {
        id,
        statement: r.get("statement"),
        author: storage::parsed(&r, "author")?,
        created_at: storage::time(r.get("created_at")),
        tags: Vec::new(),
        reviews: Vec::new(),
    }];
    fill(conn, &mut one).await?;
    Ok(one.pop())
}

/// Reads the tags and supporting reviews of `hypotheses`.
async fn fill(conn: &mut AnyConnection, hypotheses: &mut [Hypothesis]) -> Result<()> {
    if hypotheses.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = hypotheses.iter().map(|h| h.id.to_string()).collect();
    let list = storage::placeholders(1, ids.len());
    let mut tags: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    let sql = format!(
        "SELECT hypothesis_id, tag FROM hypothesis_tags WHERE hypothesis_id IN ({list}) \
         ORDER BY tag"
    );
    let mut query = storage::query(sqlx::AssertSqlSafe(sql));
    for id in &ids {
        query = query.bind(id.as_str());
    }
    for r in query.fetch_all(&mut *conn).await? {
        tags.entry(uuid(&r, "hypothesis_id")?)
            .or_default()
            .push(r.get("tag"));
    }
    let sql = format!(
        "SELECT hypothesis_id, review_id FROM review_hypotheses WHERE hypothesis_id IN ({list}) \
         ORDER BY linked_at, review_id"
    );
    let mut query = storage::query(sqlx::AssertSqlSafe(sql));
    for id in &ids {
        query = query.bind(id.as_str());
    }
    let mut reviews: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for r in query.fetch_all(&mut *conn).await? {
        reviews
            .entry(uuid(&r, "hypothesis_id")?)
            .or_default()
            .push(uuid(&r, "review_id")?);
    }
    for h in hypotheses {
        h.tags = tags.remove(&h.id).unwrap_or_default();
        h.reviews = reviews.remove(&h.id).unwrap_or_default();
    }
    Ok(())
}
