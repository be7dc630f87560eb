//! What the API shows: order files with their timelines, the queue, draws, reviews,
//! the register and the figures.

use chrono::{DateTime, Utc};
use contracts::OrderId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use service::Refused;
use storage::AnyConnection;
use uuid::Uuid;

use crate::App;
use crate::domain::figures::{self, Figure, GroupBy};
use crate::domain::{
    Entry, Hypothesis, OrderFile, QueueReason, ReviewHead, Revision, WorkerAdjustment,
};
use crate::error::QualityError;
use crate::store::{self, Draw, OrderSearch};

/// One order as a manager opens it: its file, its whole timeline, where it is in the
/// review queue and its review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderView {
    pub file: OrderFile,
    /// Who did what when, oldest first.
    pub timeline: Vec<Entry>,
    /// Its place in the review queue, if it is in it.
    pub queue: Option<QueueEntry>,
    /// Its review, if it has one.
    pub review: Option<ReviewHead>,
}

/// An order in the review queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QueueEntry {
    pub order_id: OrderId,
    pub reason: QueueReason,
    /// The random sample that drew it (`sampled` only).
    pub draw_id: Option<Uuid>,
    pub entered_at: DateTime<Utc>,
    /// Its review, once written.
    pub review_id: Option<Uuid>,
    /// The order's file (status, worker, service type, ...), if Quality has it.
    pub file: Option<OrderFile>,
}

/// A review with every revision, the hypotheses it supports and the adjustments made
/// from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReviewView {
    #[serde(flatten)]
    pub head: ReviewHead,
    /// First to latest.
    pub revisions: Vec<Revision>,
    pub hypotheses: Vec<Uuid>,
    pub adjustments: Vec<WorkerAdjustment>,
}

async fn conn(app: &App) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, QualityError> {
    Ok(app.ctx.db.pool().acquire().await?)
}

/// Order files matching `search`.
pub async fn orders(app: &App, search: &OrderSearch) -> Result<Vec<OrderFile>, QualityError> {
    Ok(store::search(&mut *conn(app).await?, search).await?)
}

/// Order `id` as a manager opens it.
pub async fn order(app: &App, id: OrderId) -> Result<OrderView, QualityError> {
    let mut conn = conn(app).await?;
    let file = store::file(&mut conn, id)
        .await?
        .ok_or(Refused::NotFound("order"))?;
    let timeline = store::entries(&mut conn, id).await?;
    let queue = store::queue_entry(&mut conn, id).await?;
    Ok(OrderView {
        queue: queue.map(|q| QueueEntry {
            order_id: q.order_id,
            reason: q.reason,
            draw_id: q.draw_id,
            entered_at: q.entered_at,
            review_id: q.review_id,
            file: None,
        }),
        review: store::review_of_order(&mut conn, id).await?,
        file,
        timeline,
    })
}

/// The review queue (see `store::queue`), each entry with its order's file.
pub async fn queue(
    app: &App,
    reviewed: Option<bool>,
    reason: Option<QueueReason>,
    limit: i64,
) -> Result<Vec<QueueEntry>, QualityError> {
    let mut conn = conn(app).await?;
    let rows = store::queue(&mut conn, reviewed, reason, limit).await?;
    let mut out = Vec::with_capacity(rows.len());
    for q in rows {
        out.push(QueueEntry {
            file: store::file(&mut conn, q.order_id).await?,
            order_id: q.order_id,
            reason: q.reason,
            draw_id: q.draw_id,
            entered_at: q.entered_at,
            review_id: q.review_id,
        });
    }
    Ok(out)
}

/// Draw `id`.
pub async fn draw(app: &App, id: Uuid) -> Result<Draw, QualityError> {
    Ok(store::draw(&mut *conn(app).await?, id)
        .await?
        .ok_or(Refused::NotFound("sample"))?)
}

/// The latest `limit` draws.
pub async fn draws(app: &App, limit: i64) -> Result<Vec<Draw>, QualityError> {
    Ok(store::draws(&mut *conn(app).await?, limit).await?)
}

/// Review `id` whole.
pub async fn review(app: &App, id: Uuid) -> Result<ReviewView, QualityError> {
    review_on(&mut *conn(app).await?, id).await
}

/// Review `id` whole, read on `conn` (a use case's unit of work answers what it wrote).
pub(super) async fn review_on(
    conn: &mut AnyConnection,
    id: Uuid,
) -> Result<ReviewView, QualityError> {
    let head = store::review_head(conn, id)
        .await?
        .ok_or(Refused::NotFound("review"))?;
    Ok(ReviewView {
        revisions: store::revisions(conn, id).await?,
        hypotheses: store::hypotheses_of_review(conn, id).await?,
        adjustments: store::adjustments_of(conn, id).await?,
        head,
    })
}

/// The register (those tagged `tag` if given).
pub async fn hypotheses(
    app: &App,
    tag: Option<&str>,
    limit: i64,
) -> Result<Vec<Hypothesis>, QualityError> {
    Ok(store::hypotheses(&mut *conn(app).await?, tag, limit).await?)
}

/// Hypothesis `id`.
pub async fn hypothesis(app: &App, id: Uuid) -> Result<Hypothesis, QualityError> {
    Ok(store::hypothesis(&mut *conn(app).await?, id)
        .await?
        .ok_or(Refused::NotFound("hypothesis"))?)
}

/// The figures of orders scheduled in `[from, to)`, grouped `by`.
pub async fn figures(
    app: &App,
    by: GroupBy,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Figure>, QualityError> {
    let finished = store::finished(
        &mut *conn(app).await?,
        storage::micros(from),
        storage::micros(to),
    )
    .await?;
    Ok(figures::figures(&finished, by))
}
