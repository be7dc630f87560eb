//! Inventory's loop: the cookie job.

use std::time::Duration;

use messaging::Task;
use messaging::tasks::{Pace, Progress, repeat};

use crate::{App, app};

/// The cookie job: orders the cookies of new (and re-ordered) kits from the contractor,
/// asks it about ordered cookies whose callback has not come in time, and calls off the
/// cookies of canceled kits; looks again every
/// `cookie_job_every_ms` (at once while there was work). Every replica may run it: two
/// calls for the same kit carry the same key, so the contractor bakes once, and each
/// outcome is recorded only over the state it was decided from.
pub fn cookies(app: App) -> Task {
    Task::new("cookies", move || {
        let app = app.clone();
        async move {
            let every = Duration::from_millis(app.config.cookie_job_every_ms);
            let pace = Pace::polling(every).backoff(every, every * 8);
            repeat("cookie job", app.ctx.shutdown.clone(), pace, || async {
                let ordered = app::order_cookies(&app)
                    .await
                    .map_err(|e| anyhow::Error::new(e).context("ordering cookies"))?;
                let checked = app::check_cookies(&app)
                    .await
                    .map_err(|e| anyhow::Error::new(e).context("checking cookies"))?;
                let canceled = app::cancel_cookies(&app)
                    .await
                    .map_err(|e| anyhow::Error::new(e).context("calling cookies off"))?;
                Ok(if ordered + checked + canceled > 0 {
                    Progress::Busy
                } else {
                    Progress::Idle
                })
            })
            .await
        }
    })
}
