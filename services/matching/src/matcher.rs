//! Assigning workers: at once when an order arrives, and later for orders that had to wait
//! (no worker registered yet).

use std::sync::Arc;

use chrono::Utc;
use contracts::Envelope;
use contracts::matching::WorkerAssigned;
use messaging::{Outbox, Runtime};
use storage::AnyConnection;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::domain::pipeline::Pipeline;
use crate::store;

/// Matches one pending order inside the caller's transaction; on success the assignment
/// and its `worker.assigned` event commit together. Returns whether it assigned.
pub async fn match_order(
    conn: &mut AnyConnection,
    pipeline: &Pipeline,
    order_id: Uuid,
) -> anyhow::Result<bool> {
    // Availability depends on every other assignment, so decisions must not interleave:
    // SQLite serializes writers already; replicas on PostgreSQL take a transaction-scoped
    // advisory lock (released at commit or rollback).
    if conn.backend_name() == "PostgreSQL" {
        storage::query("SELECT pg_advisory_xact_lock(7243001)")
            .execute(&mut *conn)
            .await?;
    }
    let Some(pending) = store::pending(conn, order_id).await? else {
        return Ok(false);
    };
    let candidates = store::candidates(conn, &pending.reference, Utc::now()).await?;
    let Some(decision) = pipeline.decide(&pending.reference, &candidates) else {
        tracing::info!(%order_id, "no normal sample registered yet: order waits");
        return Ok(false);
    };
    let version = pending.assignment_version + 1;
    if !store::assign(conn, order_id, version, &decision).await? {
        return Ok(false);
    }
    let cause: Envelope = serde_json::from_str(&pending.cause)?;
    let event = WorkerAssigned {
        order_id,
        worker_id: decision.worker_id,
        price: decision.price,
        fallback: decision.fallback,
        candidates: decision.candidates,
        explanation: decision.explanation,
    };
    Outbox::append(conn, &Envelope::new(&event, version, Some(&cause))).await?;
    Ok(true)
}

/// The background matcher: whenever woken (a worker registered or changed) and every poll
/// interval, it tries every waiting order, oldest first.
pub async fn run(rt: Runtime, pipeline: Arc<Pipeline>, wake: Arc<Notify>) {
    let mut shutdown = rt.shutdown.clone();
    while !*shutdown.borrow() {
        if let Err(e) = sweep(&rt, &pipeline).await {
            tracing::warn!(error = %e, "matching waiting orders failed");
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

async fn sweep(rt: &Runtime, pipeline: &Pipeline) -> anyhow::Result<()> {
    loop {
        let ids = {
            let mut conn = rt.db.pool().acquire().await?;
            store::pending_ids(&mut conn, 100).await?
        };
        let mut assigned = 0;
        for id in &ids {
            let mut tx = rt.db.begin().await?;
            if match_order(&mut tx, pipeline, *id).await? {
                tx.commit().await?;
                rt.outbox.committed();
                assigned += 1;
            } else {
                tx.rollback().await?;
            }
        }
        // Stop when nothing moved (no worker yet) or the queue is drained.
        if assigned == 0 || ids.len() < 100 {
            return Ok(());
        }
    }
}
