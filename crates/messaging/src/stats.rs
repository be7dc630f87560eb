//! Counters an operator (and the fault tests) read to see that messaging is healthy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use storage::{Db, DbError, Row};

/// Outbox, inbox and dead-letter counts of one service database.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct MessagingStats {
    /// Events committed but not yet acknowledged by the broker.
    pub outbox_pending: i64,
    /// Events ever written to the outbox, per type.
    pub outbox_by_type: BTreeMap<String, i64>,
    /// Events applied, per consumer and type (`consumer/type`).
    pub inbox_by_consumer: BTreeMap<String, i64>,
    /// Dead letters not yet replayed.
    pub dead_letters_pending: i64,
    /// SQLite: write transactions committed since the process started...
    #[serde(default)]
    pub write_transactions: Option<u64>,
    /// ...and the commits (fsyncs) they took: under load one group commit serves many
    /// writers. Both `null` on PostgreSQL.
    #[serde(default)]
    pub commits: Option<u64>,
}

/// Reads the counters.
pub async fn read(db: &Db) -> Result<MessagingStats, DbError> {
    let pool = db.pool();
    let write_stats = db.write_stats();
    let mut stats = MessagingStats {
        outbox_pending: storage::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL",
        )
        .fetch_one(pool)
        .await?,
        dead_letters_pending: storage::query_scalar(
            "SELECT COUNT(*) FROM dead_letters WHERE replayed_at IS NULL",
        )
        .fetch_one(pool)
        .await?,
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
