//! The no-show rule: an open order whose check-in deadline passed fails, and the client is
//! offered a rebook. An active order whose supply kit was not issued by its scheduled time
//! fails then (`kit_not_ready`, not the worker's fault).
//!
//! Exactly once without a lease: each failure is a conditional update on the order's
//! version committed with its event, so when two replicas (or a sweep and a late check-in)
//! race for the same order, one commits and the other finds the version moved and rolls
//! back. On PostgreSQL the candidates are claimed with `FOR UPDATE SKIP LOCKED` so replicas
//! skip an order another replica is failing at that moment instead of waiting for it.

use contracts::OrderId;

use super::notify;
use crate::App;
use crate::error::OrderingError;
use crate::store;

/// How many overdue orders one pass looks at.
const BATCH: usize = 100;

/// Fails every overdue order; returns how many this replica failed.
pub async fn fail_overdue_orders(app: &App) -> Result<usize, OrderingError> {
    let mut failed = 0;
    loop {
        let now = app.ctx.clock.now();
        let ids = {
            let mut conn = app.ctx.db.pool().acquire().await?;
            store::overdue(
                &mut conn,
                now - app.config.policy().grace,
                now,
                BATCH as i64,
            )
            .await?
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
        if ids.len() < BATCH || moved == 0 {
            return Ok(failed);
        }
    }
}

async fn fail_one(app: &App, id: OrderId) -> Result<bool, OrderingError> {
    let mut work = app.ctx.begin().await?;
    let Some(mut order) = store::order_for_update(&mut work, id).await? else {
        return Ok(false);
    };
    let before = order.version;
    let kit_issued = store::kit_issued(&mut work, id).await?;
    let Some(t) = order.fail_if_overdue(app.ctx.clock.now(), &app.config.policy(), kit_issued)
    else {
        return Ok(false);
    };
    if !store::update_order(&mut work, &order, before, Some(&t.entry)).await? {
        return Err(OrderingError::Concurrent);
    }
    work.publish(&t.change.envelope(order.version, None))
        .await?;
    notify::failed(&mut work, &order, &app.ctx.portal_url).await?;
    work.commit().await?;
    Ok(true)
}
