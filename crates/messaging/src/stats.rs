//! Counters an operator (and the fault tests) read to see that messaging is healthy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use storage::{Db, DbError, Row};

/// Outbox, inbox and dead-letter counts of one service database.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct MessagingStats {
    /// Events committed but not yet acknowledged by the broker.
    pub outbox_pending: i64,
    /// How long the oldest of them has waited (milliseconds; `null` when none waits).
    #[serde(default)]
    pub outbox_oldest_pending_ms: Option<i64>,
    /// Events ever written to the outbox, per type.
    pub outbox_by_type: BTreeMap<String, i64>,
    /// Events applied, per consumer and type (`consumer/type`).
    pub inbox_by_consumer: BTreeMap<String, i64>,
    /// Dead letters not yet replayed.
    pub dead_letters_pending: i64,
    /// Per consumer of this service running in the answering process, the events the bus
    /// holds for it that it has not acknowledged yet (its lag; see `Bus::pending`). Empty
    /// where only the database was read.
    #[serde(default)]
    pub consumer_pending: BTreeMap<String, u64>,
    /// SQLite: write transactions committed since the process started...
    #[serde(default)]
    pub write_transactions: Option<u64>,
    /// ...and the commits (fsyncs) they took: under load one group commit serves many
    /// writers. Both `null` on PostgreSQL.
    #[serde(default)]
    pub commits: Option<u64>,
}

/// What waits in one service database: the outbox's unpublished events and the age of
/// the oldest, and the dead letters not replayed. Cheap (no table scan beyond what waits),
/// for every scrape of `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    pub outbox_pending: i64,
    /// Milliseconds; `None` when nothing waits.
    pub outbox_oldest_pending_ms: Option<i64>,
    pub dead_letters_pending: i64,
}

/// Reads the backlog.
pub async fn backlog(db: &Db) -> Result<Backlog, DbError> {
    let pool = db.pool();
    let row = storage::query(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE published_at IS NULL",
    )
    .fetch_one(pool)
    .await?;
    let oldest: Option<i64> = row.try_get("oldest").map_err(DbError::from)?;
    Ok(Backlog {
        outbox_pending: row.try_get("n").map_err(DbError::from)?,
        outbox_oldest_pending_ms: oldest
            .map(|created| storage::now_micros().saturating_sub(created).max(0) / 1000),
        dead_letters_pending: storage::query_scalar(
            "SELECT COUNT(*) FROM dead_letters WHERE replayed_at IS NULL",
        )
        .fetch_one(pool)
        .await?,
    })
}

/// Reads the counters.
pub async fn read(db: &Db) -> Result<MessagingStats, DbError> {
    let pool = db.pool();
    let write_stats = db.write_stats();
    let backlog = backlog(db).await?;
    let mut stats = MessagingStats {
        outbox_pending: backlog.outbox_pending,
        dead_letters_pending: backlog.dead_letters_pending,
        outbox_oldest_pending_ms: backlog.outbox_oldest_pending_ms,
        write_transactions: write_stats.map(|(writers, _)| writers),
        commits: write_stats.map(|(_, commits)| commits),
        ..Default::default()
    };
    stats.outbox_by_type = storage::counts(
        pool,
        "SELECT event_type AS key, COUNT(*) AS n FROM outbox GROUP BY event_type",
    )
    .await?;
    for r in storage::query(
        "SELECT consumer, event_type, COUNT(*) AS n FROM inbox GROUP BY consumer, event_type",
    )
    .fetch_all(pool)
    .await?
    {
        let consumer: String = r.get("consumer");
        let event_type: String = r.get("event_type");
        stats
            .inbox_by_consumer
            .insert(format!("{consumer}/{event_type}"), r.get("n"));
    }
    Ok(stats)
}
