use contracts::{AccountId, TestId};

use messaging::idempotency::Keyed;

use super::Created;
use crate::App;
use crate::domain::{Test, TestSpec};
use crate::error::HiringError;
use crate::store;

/// A manager (`who`) writes a new test (`spec` checked by [`TestSpec::validate`]); with
/// `key`, a retry makes no second one.
pub async fn create_test(
    app: &App,
    who: AccountId,
    key: Option<&str>,
    spec: TestSpec,
) -> Result<Created<Test>, HiringError> {
    let mut work = app.ctx.begin().await?;
    let ticket = match work
        .claim_key(&format!("{who} POST /tests"), key, &spec)
        .await?
    {
        Keyed::Go(ticket) => ticket,
        Keyed::Replay { status, body } => return Ok(Created::Replayed { status, body }),
    };
    let id = TestId::new();
    store::save_test(&mut work, id, &spec, app.now()).await?;
    let test = Test {
        id,
        spec,
        retired: false,
    };
    work.answer(ticket, 201, &test).await?;
    work.commit().await?;
    Ok(Created::New(test))
}
