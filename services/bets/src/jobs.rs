//! Bets' loop: the sweep.

use std::time::Duration;

use messaging::Task;
use messaging::tasks::{Pace, Progress, repeat};

use crate::{App, app};

/// The sweep: resolves stakes left pending and finishes bets left settling, with the same
/// Billing keys, every `sweep_every_ms` (at once again while there was work). Every replica
/// may run it: Billing books each key once, and each answer is recorded only over the
/// state it was decided from.
pub fn sweep(app: App) -> Task {
    Task::new("sweep", move || {
        let app = app.clone();
        async move {
            let every = Duration::from_millis(app.config.sweep_every_ms);
            let pace = Pace::polling(every).backoff(every, every * 8);
            repeat("bets sweep", app.ctx.shutdown.clone(), pace, || async {
                let done = app::sweep(&app)
                    .await
                    .map_err(|e| anyhow::Error::new(e).context("sweeping bets"))?;
                Ok(if done > 0 {
                    Progress::Busy
                } else {
                    Progress::Idle
                })
            })
            .await
        }
    })
}
