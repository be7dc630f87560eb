//! Mail's loop: the deliverer.

use std::time::Duration;

use messaging::Task;
use messaging::tasks::{Pace, Progress, Wake, repeat};

use crate::domain::Retries;
use crate::transport::Transport;
use crate::{App, MailConfig, app};

/// How long an idle deliverer waits for a wake-up before looking again (retries fall due
/// without one), and how long it waits after a failed step.
const IDLE: Duration = Duration::from_millis(500);

/// The deliverer: sends due messages one by one until none is due, then waits for a new
/// message, [`IDLE`] or shutdown. Every (re)start builds its transport anew; if that fails
/// (the mail directory is gone), the run ends and the supervisor starts it again later.
pub fn deliverer(app: App, config: MailConfig) -> Task {
    Task::new("deliverer", move || {
        let (app, config) = (app.clone(), config.clone());
        async move {
            let transport = match Transport::new(&config, app.ctx.clock.now().into()) {
                Ok(t) => t,
                Err(e) => return tracing::error!(error = %e, "mail deliverer cannot start"),
            };
            let retries = Retries::from(&config);
            let pace = Pace::polling(IDLE)
                .woken_by(Wake::Notify(app.wake.clone()))
                .backoff(IDLE, IDLE);
            repeat("mail delivery", app.ctx.shutdown.clone(), pace, || async {
                let sent = app::deliver::next(&app.ctx, &transport, &retries).await?;
                Ok(if sent { Progress::Busy } else { Progress::Idle })
            })
            .await
        }
    })
}
