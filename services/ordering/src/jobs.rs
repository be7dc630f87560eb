//! Ordering's loops.

use std::time::Duration;

use messaging::tasks::{Pace, Progress, repeat};

use crate::{App, app};

/// The no-show sweep: every replica, every `no_show_sweep_ms` (and right after start, so
/// downtime only delays it), fails the open orders whose check-in deadline has passed
/// ([`app::fail_overdue_orders`] says why that is exactly once). A failed sweep waits the
/// same interval before the next.
pub async fn no_show_sweep(app: App) {
    let every = Duration::from_millis(app.config.no_show_sweep_ms);
    let pace = Pace::polling(every).backoff(every, every);
    repeat("no-show sweep", app.ctx.shutdown.clone(), pace, || async {
        let failed = app::fail_overdue_orders(&app)
            .await
            .map_err(|e| anyhow::Error::new(e).context("no-show sweep"))?;
        if failed > 0 {
            tracing::info!(failed, "overdue orders failed");
        }
        Ok(Progress::Idle)
    })
    .await
}
