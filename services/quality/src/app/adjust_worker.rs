use contracts::AccountId;
use matching::client::{AdjustmentRequest, MatchingClient};
use service::Refused;
use uuid::Uuid;

use super::calls::{as_manager, with_retries};
use crate::App;
use crate::domain::adjustment::matching_key;
use crate::domain::{AdjustmentIn, AdjustmentState, WorkerAdjustment};
use crate::error::QualityError;
use crate::store;

/// `who` (calling with `token`) changes a skill of the reviewed order's worker in
/// Matching, the review as the reason. Synchronous: Matching answers before this does.
///
/// The adjustment is first claimed here (one per review and skill), then Matching is
/// called with the manager's own token, so its audit names the manager, and a key derived
/// from the review and skill, so retries (ours, after a timeout, or the manager's) apply
/// it once. Matching's answer is recorded; when Matching refuses or does not answer, the
/// claim is dropped: nothing half-done, and the manager may try again. `Ok(false)` in the
/// pair: the adjustment was made before and is answered as it is.
pub async fn adjust_worker(
    app: &App,
    who: AccountId,
    token: &str,
    review: Uuid,
    asked: &AdjustmentIn,
) -> Result<(bool, WorkerAdjustment), QualityError> {
    let (skill, delta) = asked.checked()?;
    let now = app.now();
    let mut work = app.ctx.begin().await?;
    let head = store::review_head(&mut work, review)
        .await?
        .ok_or(Refused::NotFound("review"))?;
    let claim = match store::adjustment(&mut work, review, &skill).await? {
        Some(existing) => {
            if existing.again(delta, who)? {
                return Ok((false, existing));
            }
            // The caller's own call was cut off: try Matching again with the same key and
            // the same reason (the same request for Matching).
            existing
        }
        None => {
            let file = store::file(&mut work, head.order_id).await?;
            let worker = file.and_then(|f| f.worker_id).ok_or_else(|| {
                QualityError::conflict("no_worker", "the reviewed order had no worker")
            })?;
            let latest = store::revisions(&mut work, review)
                .await?
                .pop()
                .ok_or(Refused::NotFound("review"))?;
            let claim = WorkerAdjustment {
                review_id: review,
                worker_id: worker,
                skill: skill.clone(),
                delta,
                reason: head.adjustment_reason(&latest),
                state: AdjustmentState::Pending,
                matching_adjustment_id: None,
                level_from: None,
                level_to: None,
                adjusted_by: who,
                adjusted_at: now,
            };
            if !store::claim_adjustment(&mut work, &claim).await? {
                return Err(QualityError::conflict(
                    "adjustment_in_progress",
                    "this skill is being adjusted from this review now",
                ));
            }
            claim
        }
    };
    work.commit().await?;

    let matching = match as_manager(app, "matching", token) {
        Ok(client) => MatchingClient(client),
        Err(e) => return Err(release(app, review, &claim.skill, e).await),
    };
    let request = AdjustmentRequest {
        skill: Some(claim.skill.clone()),
        level: None,
        delta: Some(claim.delta),
        reason: Some(claim.reason.clone()),
    };
    let key = matching_key(review, &claim.skill);
    let answered = with_retries(app, "matching", || {
        matching.adjust(claim.worker_id, &request, Some(&key))
    })
    .await;
    let refusal = match answered {
        Ok(Ok((_, applied))) => {
            let mut work = app.ctx.begin().await?;
            store::finish_adjustment(
                &mut work,
                review,
                &claim.skill,
                applied.id.into(),
                applied.from,
                applied.to,
                now,
            )
            .await?;
            work.commit().await?;
            let done = WorkerAdjustment {
                state: AdjustmentState::Done,
                matching_adjustment_id: Some(applied.id.into()),
                level_from: applied.from,
                level_to: applied.to,
                ..claim
            };
            return Ok((true, done));
        }
        Ok(Err(e)) => QualityError::MatchingRefused(
            e.problem()
                .map(|p| format!("{} {}: {}", p.status, p.code, p.detail))
                .unwrap_or_else(|| e.to_string()),
        ),
        Err(unavailable) => unavailable,
    };
    Err(release(app, review, &claim.skill, refusal).await)
}

/// Drops the claim on `skill` of review `review` (Matching did not apply it), answering
/// `why`, or the failure to drop it.
async fn release(app: &App, review: Uuid, skill: &str, why: QualityError) -> QualityError {
    let dropped = async {
        let mut work = app.ctx.begin().await?;
        store::drop_adjustment(&mut work, review, skill).await?;
        work.commit().await?;
        Ok::<(), QualityError>(())
    };
    match dropped.await {
        Ok(()) => why,
        Err(e) => e,
    }
}
