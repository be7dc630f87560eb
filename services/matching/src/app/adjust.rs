//! One skill level set or changed with a reason (Quality, managers), audited in the same
//! unit of work; with an `Idempotency-Key` a retry answers the first result.

use contracts::WorkerId;

use messaging::idempotency::Keyed;
use service::Refused;

use super::{Answer, Idempotent};
use crate::App;
use crate::domain::adjustments::{Adjustment, Change, audit};
use crate::error::MatchingError;
use crate::store;

/// `POST /normal-samples/{id}/adjustments` by `actor`.
pub async fn adjust(
    app: &App,
    worker_id: WorkerId,
    change: Change,
    actor: &str,
    key: Option<Idempotent>,
) -> Result<Answer<Adjustment>, MatchingError> {
    let mut work = app.ctx.begin().await?;
    let scope = format!("{actor} POST /normal-samples/{worker_id}/adjustments");
    let ticket = match Idempotent::claim(key.as_ref(), &mut work, &scope).await? {
        Keyed::Go(ticket) => ticket,
        Keyed::Replay { body, .. } => return Ok(Answer::Replay { body }),
    };
    store::lock_roster(&mut work).await?;
    let mut sample = store::samples::get(&mut work, worker_id)
        .await?
        .ok_or(Refused::NotFound("normal sample"))?;
    let (from, to) = change.apply(&mut sample)?;
    let now = app.ctx.clock.now();
    store::samples::upsert(&mut work, &sample, now).await?;
    let a = audit(
        worker_id,
        (change.skill, from, Some(to)),
        &change.reason,
        actor,
        now,
    );
    store::adjustments::insert(&mut work, &a).await?;
    store::changes::log(&mut work, worker_id, now).await?;
    work.answer(ticket, 201, &a).await?;
    work.commit().await?;
    app.wake.notify_one();
    Ok(Answer::Done {
        created: true,
        value: a,
    })
}
