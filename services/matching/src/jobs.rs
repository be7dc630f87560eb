//! Matching's loops: the matcher deciding the orders that had to wait, and the pruning of
//! the roster change log.

use std::sync::Arc;
use std::time::Duration;

use messaging::tasks::{Pace, Progress, Wake, repeat};
use service::Context;
use tokio::sync::Notify;

use crate::app::matcher::{Matcher, SWEEP_BATCH};

/// How often an idle matcher looks for waiting orders when nothing wakes it.
const POLL: Duration = Duration::from_secs(2);
/// How often the roster change log is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// The background matcher: whenever woken (a worker registered or changed, an order needs
/// its external steps asked) and every [`POLL`], it tries every waiting order, oldest first,
/// a batch per step.
pub async fn matcher(ctx: Context, matcher: Arc<Matcher>, wake: Arc<Notify>) {
    // Load the roster now rather than during the first order (seconds at 100k samples).
    let warm = async {
        let mut conn = ctx.db.pool().acquire().await?;
        matcher.with_roster(&mut conn, |r| r.len()).await
    };
    match warm.await {
        Ok(n) => tracing::info!(normal_samples = n, "matching roster loaded"),
        Err(e) => {
            tracing::warn!(error = %e, "loading the matching roster failed; retried per decision")
        }
    }
    // A failed sweep waits the plain interval, as a quiet one does.
    let pace = Pace::polling(POLL)
        .woken_by(Wake::Notify(wake))
        .backoff(POLL, POLL);
    repeat("matcher", ctx.shutdown.clone(), pace, || async {
        let (tried, assigned) = matcher.sweep(&ctx).await.map_err(|e| e.into_anyhow())?;
        // Another batch at once while orders get assigned from a full one; otherwise no
        // worker fits yet or the queue is drained.
        Ok(if assigned > 0 && tried as i64 == SWEEP_BATCH {
            Progress::Busy
        } else {
            Progress::Idle
        })
    })
    .await
}

/// Prunes the roster change log every [`PRUNE_EVERY`], the first time [`PRUNE_EVERY`] after
/// start; a failed prune is tried again at the next turn.
pub async fn prune_changes(ctx: Context, matcher: Arc<Matcher>) {
    let mut shutdown = ctx.shutdown.clone();
    tokio::select! {
        _ = tokio::time::sleep(PRUNE_EVERY) => {}
        _ = shutdown.wait_for(|stopping| *stopping) => return,
    }
    let pace = Pace::polling(PRUNE_EVERY).backoff(PRUNE_EVERY, PRUNE_EVERY);
    repeat(
        "roster change log pruning",
        ctx.shutdown.clone(),
        pace,
        || async {
            matcher
                .prune_changes(&ctx)
                .await
                .map_err(|e| e.into_anyhow())?;
            Ok(Progress::Idle)
        },
    )
    .await
}
