use service::Refused;
use uuid::Uuid;

use crate::App;
use crate::domain::Hypothesis;
use crate::domain::hypothesis::checked_tags;
use crate::error::QualityError;
use crate::store;

/// Replaces the tags of hypothesis `id`.
pub async fn tag_hypothesis(
    app: &App,
    id: Uuid,
    tags: &[String],
) -> Result<Hypothesis, QualityError> {
    let tags = checked_tags(tags)?;
    let mut work = app.ctx.begin().await?;
    if store::hypothesis(&mut work, id).await?.is_none() {
        return Err(Refused::NotFound("hypothesis").into());
    }
    store::set_tags(&mut work, id, &tags).await?;
    let hypothesis = store::hypothesis(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("hypothesis"))?;
    work.commit().await?;
    Ok(hypothesis)
}
