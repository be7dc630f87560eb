//! The no-show sweep: every replica, every `no_show_sweep_ms` (and right after start, so
//! downtime only delays it), fails the open orders whose check-in deadline has passed.
//!
//! Exactly once without a lease: each failure is a conditional update on the order's
//! version committed with its event, so when two replicas (or a sweep and a late check-in)
//! race for the same order, one commits and the other finds the version moved and rolls
//! back. On PostgreSQL the candidates are claimed with `FOR UPDATE SKIP LOCKED` so replicas
//! skip an order another replica is failing at that moment instead of waiting for it.

use crate::domain::order::Order;
use crate::error::OrderingError;
use crate::{App, notify, store};

pub async fn run(app: App) {
    let mut shutdown = app.rt.shutdown.clone();
    let every = std::time::Duration::from_millis(app.config.no_show_sweep_ms);
    while !*shutdown.borrow() {
        match sweep(&app).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(failed = n, "overdue orders failed"),
            Err(e) => tracing::warn!(error = %e, "no-show sweep failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Fails every overdue order; returns how many this replica failed.
pub async fn sweep(app: &App) -> Result<usize, OrderingError> {
    let mut failed = 0;
    loop {
        let now = app.rt.clock.now();
        let ids = {
            let mut conn = app.rt.db.pool().acquire().await?;
            store::overdue(&mut conn, now - app.config.policy().grace, 100).await?
        };
        let mut moved = 0;
        for id in &ids {
            match fail_one(app, *id).await {
                Ok(true) => moved += 1,
                Ok(false) => {}
                // Another replica (or a check-in) got there first: nothing to do.
                Err(OrderingError::Concurrent) => {}
                // One order that cannot be failed must not hold up the others: it is
                // retried next sweep and shows in the log meanwhile.
                Err(e) => tracing::error!(order_id = %id, error = %e, "failing an overdue order"),
            }
        }
        failed += moved;
        if ids.len() < 100 || moved == 0 {
            return Ok(failed);
        }
    }
}

async fn fail_one(app: &App, id: contracts::OrderId) -> Result<bool, OrderingError> {
    let mut tx = app.rt.db.begin().await?;
    let order: Option<Order> = store::order_for_update(&mut tx, id).await?;
    let Some(mut order) = order else {
        return Ok(false);
    };
    let before = order.version;
    let Some(t) = order.fail_if_overdue(app.rt.clock.now(), &app.config.policy()) else {
        return Ok(false);
    };
    store::update_order(&mut tx, &order, before, Some(&t.entry)).await?;
    messaging::Outbox::append(&mut tx, &t.change.envelope(order.version, None)).await?;
    notify::failed(&mut tx, &order, &app.public_url).await?;
    tx.commit().await?;
    app.rt.outbox.committed();
    Ok(true)
}
