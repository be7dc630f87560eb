//! Events a consumer could not apply, kept for an operator to inspect and replay.

use contracts::Envelope;
use serde::{Deserialize, Serialize};
use storage::{Db, DbError, Row};

use crate::consumer::{Consumer, HandlerError};

/// A parked event, as an operator sees it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeadLetter {
    pub id: String,
    pub consumer: String,
    pub event_id: String,
    pub event_type: String,
    pub error: String,
    pub attempts: i64,
    /// Unix microseconds.
    pub failed_at: i64,
    /// Unix microseconds; set once a replay applied it.
    pub replayed_at: Option<i64>,
    pub body: String,
}

pub(crate) async fn park(
    db: &Db,
    consumer: &str,
    body: &[u8],
    envelope: Option<&Envelope>,
    error: &str,
    attempts: i64,
) -> Result<(), DbError> {
    let event_id = envelope
        .map(|e| e.id.to_string())
        .unwrap_or_else(|| format!("unreadable-{}", uuid::Uuid::now_v7()));
    let event_type = envelope.map(|e| e.event_type.clone()).unwrap_or_default();
    let mut tx = db.begin().await?;
    storage::query(
        "INSERT INTO dead_letters (id, consumer, event_id, event_type, body, error, attempts, \
         failed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (consumer, event_id) DO UPDATE SET error = excluded.error, \
         attempts = excluded.attempts, failed_at = excluded.failed_at, replayed_at = NULL",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(consumer)
    .bind(&event_id)
    .bind(event_type)
    .bind(String::from_utf8_lossy(body).into_owned())
    .bind(error)
    .bind(attempts)
    .bind(storage::now_micros())
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Dead letters of this database, newest first; `pending_only` hides replayed ones.
pub async fn list(db: &Db, pending_only: bool) -> Result<Vec<DeadLetter>, DbError> {
    let sql = if pending_only {
        "SELECT * FROM dead_letters WHERE replayed_at IS NULL ORDER BY failed_at DESC"
    } else {
        "SELECT * FROM dead_letters ORDER BY failed_at DESC"
    };
    let rows = storage::query(sql).fetch_all(db.pool()).await?;
    Ok(rows
        .into_iter()
        .map(|r| DeadLetter {
            id: r.get("id"),
            consumer: r.get("consumer"),
            event_id: r.get("event_id"),
            event_type: r.get("event_type"),
            error: r.get("error"),
            attempts: r.get("attempts"),
            failed_at: r.get("failed_at"),
            replayed_at: r.get("replayed_at"),
            body: r.get("body"),
        })
        .collect())
}

/// Why a replay did not apply the event.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no dead letter {0}")]
    NotFound(String),
    #[error("dead letter {0} was already replayed")]
    AlreadyReplayed(String),
    #[error("no consumer named {0} runs here")]
    UnknownConsumer(String),
    #[error("the stored body is not an event envelope: {0}")]
    Unreadable(String),
    #[error("the handler failed again: {0}")]
    HandlerFailed(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Runs the parked event through its consumer again (once: the inbox still guards it) and
/// marks it replayed when that succeeds.
pub async fn replay(db: &Db, consumers: &[Consumer], id: &str) -> Result<(), ReplayError> {
    let letter = list(db, false)
        .await?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(|| ReplayError::NotFound(id.to_owned()))?;
    if letter.replayed_at.is_some() {
        return Err(ReplayError::AlreadyReplayed(id.to_owned()));
    }
    let consumer = consumers
        .iter()
        .find(|c| c.name() == letter.consumer)
        .ok_or_else(|| ReplayError::UnknownConsumer(letter.consumer.clone()))?;
    let envelope: Envelope =
        serde_json::from_str(&letter.body).map_err(|e| ReplayError::Unreadable(e.to_string()))?;
    consumer
        .apply(&envelope)
        .await
        .map_err(|e: HandlerError| ReplayError::HandlerFailed(e.to_string()))?;
    let mut tx = db.begin().await?;
    storage::query("UPDATE dead_letters SET replayed_at = $1 WHERE id = $2")
        .bind(storage::now_micros())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(DbError::from)?;
    Ok(tx.commit().await?)
}
