//! A sender asks for a message: over the API, or by an event of its context.

use contracts::MessageId;
use messaging::Work;
use web::Unexpected;

use crate::App;
use crate::domain::templates::Language;
use crate::domain::{Message, Request};
use crate::error::MailError;
use crate::store;

/// Stores the message `sender` asks for, queued, and wakes the deliverer. The same key
/// from the same sender again gets the first message as it is now (the key is the
/// message's own, kept as long as the message, for requests by API and by event alike); the
/// key for another message is refused.
pub async fn submit(app: &App, sender: &str, request: Request<'_>) -> Result<Message, MailError> {
    let mut work = app.ctx.begin().await?;
    let language = language_for(&mut work, &request).await?;
    let message = Message::compose(
        MessageId::new(),
        app.ctx.clock.now(),
        sender,
        request,
        language,
    )?;
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
    let language = language_for(work, &request).await?;
    let message = Message::compose(
        MessageId::new(),
        app.ctx.clock.now(),
        sender,
        request,
        language,
    )?;
    store::insert(work, &message).await?;
    Ok(())
}

/// The language to write `request` in: the sender's word (it may know better, e.g. a
/// candidate's application language, before the person has an account), else the language
/// IAM announced for the recipient, else English. A tag Mail does not write counts as
/// unsaid, as a browser's unknown language does in the portal.
async fn language_for(work: &mut Work, request: &Request<'_>) -> Result<Language, MailError> {
    if let Some(language) = request.language.and_then(Language::parse) {
        return Ok(language);
    }
    let email = request.to.trim().to_lowercase();
    let known = store::recipient_language(work, &email).await?;
    Ok(known
        .as_deref()
        .and_then(Language::parse)
        .unwrap_or_default())
}

/// Keeps the language IAM announced for an account's address (a newer version only); an
/// account that never chose one changes nothing.
pub async fn record_recipient(
    work: &mut Work,
    email: &str,
    language: Option<&str>,
    version: i64,
) -> Result<(), MailError> {
    let Some(language) = language.and_then(Language::parse) else {
        return Ok(());
    };
    let email = email.trim().to_lowercase();
    store::upsert_recipient(work, &email, language.tag(), version).await?;
    Ok(())
}
