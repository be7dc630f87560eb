use contracts::TestId;
use service::Refused;

use crate::App;
use crate::error::HiringError;
use crate::store;

/// A manager retires a test: kept for the results, never assigned again.
pub async fn retire_test(app: &App, id: TestId) -> Result<(), HiringError> {
    let mut work = app.ctx.begin().await?;
    if !store::retire_test(&mut work, id, app.now()).await? {
        return Err(Refused::NotFound("active test").into());
    }
    work.commit().await?;
    Ok(())
}
