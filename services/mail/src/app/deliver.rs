//! The deliverer's step: send the next due message and record what happened.
//!
//! One message at a time, its outcome recorded before the next is sent: a crash can leave
//! unrecorded only the one message that was in flight, the only one ever sent twice.

use service::Context;
use storage::Backend;

use crate::domain::{Message, Outcome, Retries};
use crate::error::MailError;
use crate::store;
use crate::transport::Transport;

/// Sends the next due message, if any, through `transport` and records the outcome at
/// once: sent, queued again after a backoff, or dead. `false` when none was due.
pub async fn next(
    ctx: &Context,
    transport: &Transport,
    retries: &Retries,
) -> Result<bool, MailError> {
    if ctx.db.backend() == Backend::Postgres {
        // Replicas share the queue. The message's row stays locked while it is sent and
        // until its outcome is committed (the others skip it); a crash ends the
        // transaction, and the message is due again for whoever comes next.
        let mut work = ctx.begin().await?;
        let Some(m) = store::due(&mut work, ctx.clock.now(), 1).await?.pop() else {
            return Ok(false);
        };
        let outcome = attempt(ctx, transport, retries, &m).await;
        store::record(&mut work, m.id, &outcome).await?;
        work.commit().await?;
    } else {
        // SQLite: one process, one deliverer, and its write lock must not be held while
        // talking SMTP.
        let due = {
            let mut conn = ctx.db.pool().acquire().await?;
            store::due(&mut conn, ctx.clock.now(), 1).await?.pop()
        };
        let Some(m) = due else {
            return Ok(false);
        };
        let outcome = attempt(ctx, transport, retries, &m).await;
        let mut work = ctx.begin().await?;
        store::record(&mut work, m.id, &outcome).await?;
        work.commit().await?;
    }
    Ok(true)
}

/// One attempt at `m`, and what it leaves.
async fn attempt(ctx: &Context, transport: &Transport, retries: &Retries, m: &Message) -> Outcome {
    let result = transport.send(m).await;
    let outcome = m.after_attempt(result, retries, ctx.clock.now());
    if let Outcome::Failed {
        attempt,
        error,
        dead,
        ..
    } = &outcome
    {
        tracing::warn!(message = %m.id, attempt, dead, error = %error, "mail delivery failed");
    }
    outcome
}
