use contracts::TestId;

use crate::App;
use crate::error::HiringError;
use crate::store;

/// A manager retires a test: kept for the results, never assigned again.
pub async fn retire_test(app: &App, id: TestId) -> Result<(), HiringError> {
    let mut work = app.ctx.begin().await?;
    if !store::retire_test(&mut work, id, app.now()).await? {
        return Err(HiringError::NotFound("active test"));
    }
    work.commit().await?;
    Ok(())
}
