//! `sign_in_throttle`: failed password guesses per account and per source address.

use storage::{AnyConnection, Row};

use super::Result;
use crate::domain::throttle::{Policy, Throttle};

/// The throttle state of a key (`account:<email>` or `address:<ip>`).
pub async fn throttle(conn: &mut AnyConnection, key: &str) -> Result<Throttle> {
    Ok(
        storage::query("SELECT * FROM sign_in_throttle WHERE key = $1")
            .bind(key)
            .fetch_optional(conn)
            .await?
            .map(|r| Throttle {
                failures: r.get("failures"),
                window_start: r.get("window_start"),
                blocked_until: r.get("blocked_until"),
            })
            .unwrap_or_default(),
    )
}

/// Records one more failure of `key` at `now` under `policy`, atomically: call it in a
/// write transaction. Concurrent failures all count (a read, then a write of the state read,
/// would let a burst of parallel guesses count as one): the row is created if missing, then
/// read locked (`FOR UPDATE` on PostgreSQL; SQLite's write transactions are serialized).
pub async fn record_failure(
    conn: &mut AnyConnection,
    key: &str,
    policy: Policy,
    now: i64,
) -> Result<Throttle> {
    storage::query(
        "INSERT INTO sign_in_throttle (key, failures, window_start, blocked_until) \
         VALUES ($1, 0, $2, 0) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let current = storage::query(sqlx::AssertSqlSafe(format!(
        "SELECT failures, window_start, blocked_until FROM sign_in_throttle WHERE key = $1{}",
        storage::for_update(conn)
    )))
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    let next = Throttle {
        failures: current.get("failures"),
        window_start: current.get("window_start"),
        blocked_until: current.get("blocked_until"),
    }
    .fail(policy, now);
    save_throttle(conn, key, &next).await?;
    Ok(next)
}

async fn save_throttle(conn: &mut AnyConnection, key: &str, t: &Throttle) -> Result<()> {
    storage::query(
        "INSERT INTO sign_in_throttle (key, failures, window_start, blocked_until) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, \
         window_start = excluded.window_start, blocked_until = excluded.blocked_until",
    )
    .bind(key)
    .bind(t.failures)
    .bind(t.window_start)
    .bind(t.blocked_until)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn clear_throttle(conn: &mut AnyConnection, key: &str) -> Result<()> {
    storage::query("DELETE FROM sign_in_throttle WHERE key = $1")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}
