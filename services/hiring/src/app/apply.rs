use contracts::ApplicationId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use messaging::idempotency::Keyed;
use service::Refused;

use super::{Created, request_mail};
use crate::App;
use crate::domain::{Application, ApplicationForm, Status, photo};
use crate::error::HiringError;
use crate::store;

/// What a candidate is told when her application arrives (202), and again when she
/// retries with the same `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Applied {
    pub id: ApplicationId,
    pub status: Status,
}

/// A candidate applies on the public form: checked, one open application per e-mail, and
/// the candidate is told it arrived. With `key`, a retry (same form) answers the first
/// result instead of a 409.
pub async fn apply(
    app: &App,
    key: Option<&str>,
    form: ApplicationForm,
) -> Result<Created<Applied>, HiringError> {
    let form = form.validate()?;
    let photo = photo(&form.photo)?;
    let mut work = app.ctx.begin().await?;
    // Candidates have no account: their keys are scoped by the address they apply with.
    let scope = format!("{} POST /applications", form.email);
    let ticket = match work.claim_key(&scope, key, &form).await? {
        Keyed::Go(ticket) => ticket,
        Keyed::Replay { status, body } => return Ok(Created::Replayed { status, body }),
    };
    let application = Application::apply(ApplicationId::new(), form);
    if !store::insert_application(&mut work, &application, &photo, app.now()).await? {
        return Err(Refused::conflict(
            "application_open",
            "an application with this e-mail is already being considered",
        )
        .into());
    }
    request_mail(
        &mut work,
        &application,
        "application_received",
        json!({"name": application.name}),
        format!("received-{}", application.id),
    )
    .await?;
    let applied = Applied {
        id: application.id,
        status: application.status,
    };
    work.answer(ticket, 202, &applied).await?;
    work.commit().await?;
    Ok(Created::New(applied))
}
