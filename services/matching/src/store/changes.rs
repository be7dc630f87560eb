//! The roster change log (`roster_changes`): which worker's sample or bookings changed, in
//! commit order, so each replica reloads only those (see `app::matcher`).

use chrono::{DateTime, Utc};
use contracts::WorkerId;
use storage::{AnyConnection, Row, micros};

use storage::parsed;

use super::Result;

/// Logs that `worker_id`'s sample or bookings changed. Call under
/// [`lock_roster`](super::lock_roster): the sequence is then gap-free and in commit order.
pub async fn log(conn: &mut AnyConnection, worker_id: WorkerId, at: DateTime<Utc>) -> Result<()> {
    storage::query(
        "INSERT INTO roster_changes (seq, worker_id, at) \
         SELECT COALESCE(MAX(seq), 0) + 1, $1, $2 FROM roster_changes",
    )
    .bind(worker_id.to_string())
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Changes from `from_seq` on (inclusive), in order.
pub async fn since(conn: &mut AnyConnection, from_seq: i64) -> Result<Vec<(i64, WorkerId)>> {
    storage::query("SELECT seq, worker_id FROM roster_changes WHERE seq >= $1 ORDER BY seq")
        .bind(from_seq)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((r.get("seq"), parsed(r, "worker_id")?)))
        .collect()
}

/// The newest change's sequence number (0 before the first).
pub async fn last(conn: &mut AnyConnection) -> Result<i64> {
    Ok(
        storage::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM roster_changes")
            .fetch_one(conn)
            .await?,
    )
}

/// Forgets changes older than `before`, always keeping the newest, so the sequence never
/// restarts. A replica that missed forgotten changes reloads everything.
pub async fn prune(conn: &mut AnyConnection, before: DateTime<Utc>) -> Result<u64> {
    Ok(storage::query(
        // By seq, not by time: only a prefix of the log goes (replicas' clocks differ, so
        // `at` is not monotonic in `seq`), and the newest old row stays, so a reader can
        // always tell whether its position is still in the log.
        "DELETE FROM roster_changes WHERE seq < \
         (SELECT COALESCE(MAX(seq), 0) FROM roster_changes WHERE at < $1)",
    )
    .bind(micros(before))
    .execute(conn)
    .await?
    .rows_affected())
}
