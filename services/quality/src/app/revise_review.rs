use contracts::AccountId;
use service::Refused;
use uuid::Uuid;

use super::ReviewView;
use super::open_review::check_hypotheses;
use super::queries::review_on;
use crate::App;
use crate::domain::{ReviewForm, Revision};
use crate::error::QualityError;
use crate::store;

/// `who` edits review `id` from revision `from` (the latest one they read): a new
/// revision is appended (earlier ones stay as written), new hypotheses are linked (links
/// are never removed). An edit from an older revision is 409 `stale_revision`.
pub async fn revise_review(
    app: &App,
    who: AccountId,
    id: Uuid,
    from: i64,
    form: ReviewForm,
) -> Result<ReviewView, QualityError> {
    let form = form.checked()?;
    let now = app.now();
    let mut work = app.ctx.begin().await?;
    let head = store::review_head(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("review"))?;
    let next = head.next_revision(from)?;
    check_hypotheses(&mut work, &form.hypotheses).await?;
    if !store::save_revision(&mut work, id, &Revision::of(&form, next, who, now)).await? {
        // Another edit of the same revision committed first.
        return Err(QualityError::conflict(
            "stale_revision",
            format!("the review moved past revision {from} meanwhile: read it again"),
        ));
    }
    store::link_hypotheses(&mut work, id, &form.hypotheses, who, now).await?;
    let view = review_on(&mut work, id).await?;
    work.commit().await?;
    Ok(view)
}
