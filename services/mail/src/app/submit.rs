//! A sender asks for a message: over the API, or by an event of its context.

use contracts::MessageId;
use messaging::Work;
use web::Unexpected;

use crate::App;
use crate::domain::{Message, Request};
use crate::error::MailError;
use crate::store;

/// Stores the message `sender` asks for, queued, and wakes the deliverer. The same key
/// from the same sender again gets the first message as it is now (the key is the
/// message's own, kept as long as the message, for requests by API and by event alike); the
/// key for another message is refused.
pub async fn submit(app: &App, sender: &str, request: Request<'_>) -> Result<Message, MailError> {
    let message = Message::compose(MessageId::new(), app.ctx.clock.now(), sender, request)?;
    let mut work = app.ctx.begin().await?;
    if store::insert(&mut work, &message).await? {
        work.commit().await?;
        app.wake.notify_one();
        return Ok(message);
    }
    let first = store::by_key(&mut work, sender, &message.idempotency_key)
        .await?
        .ok_or_else(|| Unexpected::msg("idempotency key conflicted but is gone"))?;
    work.rollback().await?;
    if !first.is_same_request(&message) {
        return Err(MailError::KeyReused);
    }
    Ok(first)
}

/// Stores the message another context asked for through its outbox, within the consumer's
/// `work` (the context is the sender: its keys are its own). A repeated key stores nothing
/// new. The caller wakes the deliverer.
pub async fn by_event(
    app: &App,
    work: &mut Work,
    sender: &str,
    request: Request<'_>,
) -> Result<(), MailError> {
    let message = Message::compose(MessageId::new(), app.ctx.clock.now(), sender, request)?;
    store::insert(work, &message).await?;
    Ok(())
}
