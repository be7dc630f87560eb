use auth::secret::{digest, random_token};
use contracts::{ApplicationId, TestId};
use serde_json::json;
use service::Refused;

use super::request_mail;
use crate::App;
use crate::error::HiringError;
use crate::store::{self, Assignment};

/// A manager assigns a set of tests (active ones; the route takes 1 to 20) to an open
/// application, and the candidate is mailed a private link to take them (a new link
/// replaces the old one).
pub async fn assign_tests(
    app: &App,
    id: ApplicationId,
    test_ids: &[TestId],
) -> Result<Vec<Assignment>, HiringError> {
    let now = app.now();
    let mut work = app.ctx.begin().await?;
    let application = store::application(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("application"))?;
    let application = application.assign_tests(now + app.config.link_ttl_hours * 3_600_000_000)?;
    for (i, test_id) in test_ids.iter().enumerate() {
        match store::test(&mut work, *test_id).await? {
            Some(t) if !t.retired => store::assign(&mut work, id, *test_id, now).await?,
            _ => {
                return Err(HiringError::invalid(
                    &format!("test_ids[{i}]"),
                    "no such active test",
                ));
            }
        }
    }
    // 32 random bytes: the private link's token.
    let token = random_token(32);
    let expires_at = application
        .link_expires_at
        .expect("assigning tests sets the link's expiry");
    // Only its digest is stored (a leaked table opens nothing).
    store::set_link(&mut work, id, &digest(&token), expires_at).await?;
    // The portal's page, where the candidate takes the tests.
    let link = format!("{}/take?token={token}", app.ctx.portal_url);
    request_mail(
        &mut work,
        &application,
        "tests_assigned",
        json!({"name": application.name, "link": link}),
        format!("tests-{}-{}", id, digest(&token)),
    )
    .await?;
    let assigned = store::assignments(&mut work, id).await?;
    work.commit().await?;
    Ok(assigned)
}
