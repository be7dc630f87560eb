use auth::secret::digest;
use contracts::TestId;
use service::Refused;
use storage::AnyConnection;

use crate::App;
use crate::domain::{Application, Test};
use crate::error::HiringError;
use crate::store::{self, Assignment};

/// The application behind a live private link (a move of the domain decides "live").
async fn by_link(
    conn: &mut AnyConnection,
    token: &str,
    now: i64,
) -> Result<Application, HiringError> {
    let a = store::application_by_link(conn, &digest(token))
        .await?
        .ok_or(HiringError::Gone("this link does not work (any more)"))?;
    a.take_test(now)?;
    Ok(a)
}

/// What the candidate behind `token` is to take: her application and each assigned test
/// with how it stands.
pub async fn tests_to_take(
    app: &App,
    token: &str,
) -> Result<(Application, Vec<(Test, Assignment)>), HiringError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let a = by_link(&mut conn, token, app.now()).await?;
    let mut tests = Vec::new();
    for assignment in store::assignments(&mut conn, a.id).await? {
        let t = store::test(&mut conn, assignment.test_id)
            .await?
            .ok_or(Refused::NotFound("test"))?;
        tests.push((t, assignment));
    }
    Ok((a, tests))
}

/// The candidate behind `token` answers one test: graded at once, recorded once. A
/// malformed submission is refused before anything is recorded, so it cannot use up the
/// single attempt.
pub async fn take_test(
    app: &App,
    token: &str,
    test_id: TestId,
    answers: &[usize],
) -> Result<(), HiringError> {
    let now = app.now();
    let mut work = app.ctx.begin().await?;
    let application = by_link(&mut work, token, now).await?;
    let test = store::test(&mut work, test_id)
        .await?
        .ok_or_else(|| HiringError::invalid("test_id", "not one of your tests"))?;
    let grade = test.spec.grade(answers)?;
    if !store::record(&mut work, application.id, test_id, grade, now).await? {
        return Err(Refused::conflict(
            "already_taken",
            "this test was already taken (or is not yours)",
        )
        .into());
    }
    work.commit().await?;
    Ok(())
}
