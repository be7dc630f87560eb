//! Reviews, their append-only revisions and their links to hypotheses.

use chrono::{DateTime, Utc};
use contracts::{AccountId, OrderId};
use storage::{AnyConnection, AnyRow, DbError, Row};
use uuid::Uuid;

use super::{Result, uuid};
use crate::domain::{ReviewHead, Revision, Verdict};

/// Opens a review unless the order has one (`false` then).
pub async fn insert_review(conn: &mut AnyConnection, head: &ReviewHead) -> Result<bool> {
    Ok(storage::query(
        "INSERT INTO reviews (id, order_id, author, created_at, revision) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(head.id.to_string())
    .bind(head.order_id.to_string())
    .bind(head.author.to_string())
    .bind(storage::micros(head.created_at))
    .bind(head.revision)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Appends `revision` to review `id` and makes it the latest, if the latest is still
/// `revision - 1` (`false` when someone else's edit came first).
pub async fn save_revision(
    conn: &mut AnyConnection,
    id: Uuid,
    revision: &Revision,
) -> Result<bool> {
    let moved = storage::query("UPDATE reviews SET revision = $1 WHERE id = $2 AND revision = $3")
        .bind(revision.revision)
        .bind(id.to_string())
        .bind(revision.revision - 1)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1;
    // Revision 1 is written with the review's head.
    if !moved && revision.revision != 1 {
        return Ok(false);
    }
    storage::query(
        "INSERT INTO review_revisions (review_id, revision, author, written_at, what_happened, \
         client_contacted, client_contact, findings, verdict) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id.to_string())
    .bind(revision.revision)
    .bind(revision.author.to_string())
    .bind(storage::micros(revision.written_at))
    .bind(&revision.what_happened)
    .bind(i64::from(revision.client_contacted))
    .bind(&revision.client_contact)
    .bind(&revision.findings)
    .bind(revision.verdict.as_str())
    .execute(conn)
    .await?;
    Ok(true)
}

fn head_of(r: &AnyRow) -> Result<ReviewHead> {
    Ok(ReviewHead {
        id: uuid(r, "id")?,
        order_id: storage::parsed(r, "order_id")?,
        author: storage::parsed(r, "author")?,
        created_at: storage::time(r.get("created_at")),
        revision: r.get("revision"),
    })
}

/// Review `id`'s head.
pub async fn review_head(conn: &mut AnyConnection, id: Uuid) -> Result<Option<ReviewHead>> {
    storage::query("SELECT id, order_id, author, created_at, revision FROM reviews WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(head_of)
        .transpose()
}

/// The review of `order`, if it has one.
pub async fn review_of_order(
    conn: &mut AnyConnection,
    order: OrderId,
) -> Result<Option<ReviewHead>> {
    storage::query(
        "SELECT id, order_id, author, created_at, revision FROM reviews WHERE order_id = $1",
    )
    .bind(order.to_string())
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(head_of)
    .transpose()
}

/// Every revision of review `id`, first to latest.
pub async fn revisions(conn: &mut AnyConnection, id: Uuid) -> Result<Vec<Revision>> {
    storage::query(
        "SELECT revision, author, written_at, what_happened, client_contacted, client_contact, \
         findings, verdict FROM review_revisions WHERE review_id = $1 ORDER BY revision",
    )
    .bind(id.to_string())
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        let verdict: String = r.get("verdict");
        Ok(Revision {
            revision: r.get("revision"),
            author: storage::parsed(r, "author")?,
            written_at: storage::time(r.get("written_at")),
            what_happened: r.get("what_happened"),
            client_contacted: r.get::<i64, _>("client_contacted") != 0,
            client_contact: r.get("client_contact"),
            findings: r.get("findings"),
            verdict: Verdict::parse(&verdict)
                .ok_or_else(|| DbError::undecodable(format!("verdict {verdict:?}")))?,
        })
    })
    .collect()
}

/// Links review `review` to each of `hypotheses` it is not linked to yet.
pub async fn link_hypotheses(
    conn: &mut AnyConnection,
    review: Uuid,
    hypotheses: &[Uuid],
    by: AccountId,
    at: DateTime<Utc>,
) -> Result<()> {
    for h in hypotheses {
        storage::query(
            "INSERT INTO review_hypotheses (review_id, hypothesis_id, linked_by, linked_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (review_id, hypothesis_id) DO NOTHING",
        )
        .bind(review.to_string())
        .bind(h.to_string())
        .bind(by.to_string())
        .bind(storage::micros(at))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The hypotheses review `review` supports.
pub async fn hypotheses_of_review(conn: &mut AnyConnection, review: Uuid) -> Result<Vec<Uuid>> {
    storage::query(
        "SELECT hypothesis_id FROM review_hypotheses WHERE review_id = $1 \
         ORDER BY linked_at, hypothesis_id",
    )
    .bind(review.to_string())
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| uuid(r, "hypothesis_id"))
    .collect()
}
