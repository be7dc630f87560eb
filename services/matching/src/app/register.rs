//! A worker's profile saved: registered, replaced by a manager or hiring, or hired again.
//! Replacing audits every changed skill level; waiting orders are matched right after.

use chrono::{DateTime, Utc};
use messaging::Work;
use storage::DbError;

use messaging::idempotency::Keyed;
use service::Refused;

use super::{Answer, Idempotent};
use crate::App;
use crate::domain::adjustments::{audit, changed_levels};
use crate::domain::samples::NormalSample;
use crate::error::MatchingError;
use crate::store;

/// Saves `sample` in `work`. When it replaces an existing one, every changed skill level is
/// audited with `reason`. Returns whether it was new.
pub async fn save(
    work: &mut Work,
    sample: &NormalSample,
    actor: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    store::lock_roster(work).await?;
    let before = store::samples::get(work, sample.id).await?;
    store::samples::upsert(work, sample, now).await?;
    if let Some(before) = &before {
        for change in changed_levels(before, sample) {
            store::adjustments::insert(work, &audit(sample.id, change, reason, actor, now)).await?;
        }
    }
    store::changes::log(work, sample.id, now).await?;
    Ok(before.is_none())
}

/// `POST /normal-samples`: registers a worker, or replaces its profile.
pub async fn register(
    app: &App,
    sample: NormalSample,
    actor: &str,
    key: Option<Idempotent>,
) -> Result<Answer<NormalSample>, MatchingError> {
    let mut work = app.ctx.begin().await?;
    let scope = format!("{actor} POST /normal-samples");
    let ticket = match Idempotent::claim(key.as_ref(), &mut work, &scope).await? {
        Keyed::Go(ticket) => ticket,
        Keyed::Replay { body, .. } => return Ok(Answer::Replay { body }),
    };
    let created = save(
        &mut work,
        &sample,
        actor,
        "profile replaced",
        app.ctx.clock.now(),
    )
    .await?;
    work.answer(ticket, if created { 201 } else { 200 }, &sample)
        .await?;
    work.commit().await?;
    app.wake.notify_one();
    Ok(Answer::Done {
        created,
        value: sample,
    })
}

/// `PUT /normal-samples/{id}`: replaces the profile of a registered worker.
pub async fn update(
    app: &App,
    sample: NormalSample,
    actor: &str,
) -> Result<NormalSample, MatchingError> {
    let mut work = app.ctx.begin().await?;
    if store::samples::get(&mut work, sample.id).await?.is_none() {
        return Err(Refused::NotFound("normal sample").into());
    }
    save(
        &mut work,
        &sample,
        actor,
        "profile replaced",
        app.ctx.clock.now(),
    )
    .await?;
    work.commit().await?;
    app.wake.notify_one();
    Ok(sample)
}
