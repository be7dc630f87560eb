use contracts::AccountId;
use uuid::Uuid;

use crate::App;
use crate::domain::{Hypothesis, NewHypothesis};
use crate::error::QualityError;
use crate::store;

/// `who` adds a hypothesis to the register, with its tags.
pub async fn add_hypothesis(
    app: &App,
    who: AccountId,
    new: &NewHypothesis,
) -> Result<Hypothesis, QualityError> {
    let (statement, tags) = new.checked()?;
    let now = app.now();
    let id = Uuid::now_v7();
    let mut work = app.ctx.begin().await?;
    store::insert_hypothesis(&mut work, id, &statement, &tags, who, now).await?;
    work.commit().await?;
    Ok(Hypothesis {
        id,
        statement,
        tags,
        author: who,
        created_at: now,
        reviews: Vec::new(),
    })
}
