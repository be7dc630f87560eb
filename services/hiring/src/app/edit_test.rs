use contracts::TestId;
use service::Refused;

use crate::App;
use crate::domain::{Test, TestSpec};
use crate::error::HiringError;
use crate::store;

/// A manager rewrites a test that is not retired (`spec` checked by [`TestSpec::validate`]).
pub async fn edit_test(app: &App, id: TestId, spec: TestSpec) -> Result<Test, HiringError> {
    let mut work = app.ctx.begin().await?;
    let existing = store::test(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("test"))?;
    if existing.retired {
        return Err(Refused::conflict("test_retired", "a retired test cannot be edited").into());
    }
    store::save_test(&mut work, id, &spec, app.now()).await?;
    work.commit().await?;
    Ok(Test {
        id,
        spec,
        retired: false,
    })
}
