use contracts::ApplicationId;
use serde_json::json;
use service::Refused;

use super::request_mail;
use crate::App;
use crate::domain::{Application, Reason};
use crate::error::HiringError;
use crate::store;

/// A manager declines with a reason; the candidate is told by mail.
pub async fn decline(
    app: &App,
    id: ApplicationId,
    reason: &Reason,
) -> Result<Application, HiringError> {
    let mut work = app.ctx.begin().await?;
    let a = store::application(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("application"))?;
    let declined = a.decline(reason)?;
    if !store::decide(&mut work, &declined, app.now()).await? {
        return Err(HiringError::closed());
    }
    request_mail(
        &mut work,
        &declined,
        "candidate_declined",
        json!({"name": declined.name, "reason": reason.as_str()}),
        format!("declined-{id}"),
    )
    .await?;
    work.commit().await?;
    Ok(declined)
}
