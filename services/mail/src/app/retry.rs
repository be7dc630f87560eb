//! An operator puts a dead message back in the queue.

use contracts::MessageId;
use service::Refused;

use crate::App;
use crate::error::MailError;
use crate::store;

/// Queues dead message `id` again, due now, with its attempts counted afresh.
pub async fn retry(app: &App, id: MessageId) -> Result<(), MailError> {
    let mut work = app.ctx.begin().await?;
    if !store::retry(&mut work, id, app.ctx.clock.now()).await? {
        let exists = store::get(&mut work, id).await?.is_some();
        return Err(if exists {
            Refused::conflict("not_dead", "only dead messages can be retried")
        } else {
            Refused::NotFound("message")
        }
        .into());
    }
    work.commit().await?;
    app.wake.notify_one();
    Ok(())
}
