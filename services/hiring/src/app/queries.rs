//! What managers read: no decision, no write.

use contracts::ApplicationId;
use service::Refused;

use crate::App;
use crate::domain::{Application, Status, Test};
use crate::error::HiringError;
use crate::store::{self, Assignment};

pub async fn list_tests(app: &App) -> Result<Vec<Test>, HiringError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    Ok(store::tests(&mut conn).await?)
}

/// A page of applications (`limit` from `offset`), newest first, with `status` if given.
pub async fn list_applications(
    app: &App,
    status: Option<Status>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Application>, HiringError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    Ok(store::applications(&mut conn, status, limit, offset).await?)
}

/// An application and how each of its tests went.
pub async fn application_detail(
    app: &App,
    id: ApplicationId,
) -> Result<(Application, Vec<Assignment>), HiringError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let a = store::application(&mut conn, id)
        .await?
        .ok_or(Refused::NotFound("application"))?;
    let tests = store::assignments(&mut conn, id).await?;
    Ok((a, tests))
}

/// An application's photo and its checked media type.
pub async fn photo(app: &App, id: ApplicationId) -> Result<(Vec<u8>, String), HiringError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    store::photo(&mut conn, id)
        .await?
        .ok_or(Refused::NotFound("application").into())
}
