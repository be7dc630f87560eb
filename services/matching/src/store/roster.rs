//! The roster as the matcher loads it: every normal sample with its bookings and history,
//! or one of them; and the lock every roster writer takes.

use std::collections::HashMap;

use contracts::WorkerId;
use storage::{AnyConnection, AnyRow, Row};

use storage::parsed;

use super::Result;
use crate::domain::roster::{Booking, SampleState};
use crate::domain::samples::History;

/// The lock every transaction that changes normal samples or bookings takes (PostgreSQL;
/// SQLite serializes writers already). Transaction-scoped: released at commit or rollback.
pub async fn lock_roster(conn: &mut AnyConnection) -> Result<()> {
    if storage::Backend::of(conn) == storage::Backend::Postgres {
        storage::query("SELECT pg_advisory_xact_lock(7243001)")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn booking_of(r: &AnyRow) -> Result<(WorkerId, Booking)> {
    Ok((
        parsed(r, "worker_id")?,
        Booking {
            start: r.get("scheduled_at"),
            end: r.get("ends_at"),
            order_id: parsed(r, "order_id")?,
        },
    ))
}

fn add_result(h: &mut History, outcome: &str, n: i64) {
    match outcome {
        "completed" => h.completed += n,
        "no_show" => h.failed += n,
        _ => {}
    }
}

/// Every normal sample with its bookings and history (a replica's full roster load).
pub async fn load_all(conn: &mut AnyConnection) -> Result<Vec<SampleState>> {
    let mut bookings: HashMap<WorkerId, Vec<Booking>> = HashMap::new();
    for r in storage::query(
        "SELECT order_id, worker_id, scheduled_at, ends_at FROM reference_samples \
         WHERE status = 'assigned' AND worker_id IS NOT NULL",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        let (w, b) = booking_of(&r)?;
        bookings.entry(w).or_default().push(b);
    }
    let mut history: HashMap<WorkerId, History> = HashMap::new();
    for r in storage::query(
        "SELECT worker_id, outcome, COUNT(*) AS n FROM sample_results GROUP BY worker_id, outcome",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        let w = parsed(&r, "worker_id")?;
        add_result(
            history.entry(w).or_default(),
            &r.get::<String, _>("outcome"),
            r.get("n"),
        );
    }
    storage::query("SELECT id, name, available, skills FROM normal_samples ORDER BY id")
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            let sample = super::samples::sample_of(r)?;
            Ok(SampleState {
                history: history.remove(&sample.id).unwrap_or_default(),
                bookings: bookings.remove(&sample.id).unwrap_or_default(),
                sample,
            })
        })
        .collect()
}

/// One normal sample with its bookings and history (`None`: no such sample).
pub async fn load_one(conn: &mut AnyConnection, id: WorkerId) -> Result<Option<SampleState>> {
    let Some(sample) = super::samples::get(&mut *conn, id).await? else {
        return Ok(None);
    };
    let bookings = storage::query(
        "SELECT order_id, worker_id, scheduled_at, ends_at FROM reference_samples \
         WHERE worker_id = $1 AND status = 'assigned'",
    )
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok(booking_of(r)?.1))
    .collect::<Result<Vec<_>>>()?;
    let history = history(conn, id).await?;
    Ok(Some(SampleState {
        sample,
        history,
        bookings,
    }))
}

/// How a worker's past orders ended.
pub async fn history(conn: &mut AnyConnection, id: WorkerId) -> Result<History> {
    let mut h = History::default();
    for r in storage::query(
        "SELECT outcome, COUNT(*) AS n FROM sample_results WHERE worker_id = $1 GROUP BY outcome",
    )
    .bind(id.to_string())
    .fetch_all(conn)
    .await?
    {
        add_result(&mut h, &r.get::<String, _>("outcome"), r.get("n"));
    }
    Ok(h)
}
