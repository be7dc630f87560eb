//! Mail in process (SQLite, embedded bus, router called directly), given/when/then: the
//! API's refusals and visibility, and the deliverer's step under the business clock.

mod delivery;
mod languages;
mod messages;

use auth::Role;
use contracts::AccountId;
use serde_json::json;
use service::testing::TestService;

use crate::client::{MailClient, Submission};

/// Mail with its default section, no background tasks (messages stay queued).
async fn mail() -> TestService {
    TestService::start(&crate::SPEC, json!({})).await
}

/// A typed client as a new principal with `roles`.
fn as_(ts: &TestService, roles: &[Role]) -> MailClient {
    MailClient(ts.client_as(AccountId::new(), roles))
}

/// A payout notice to Tom under `key`.
fn payout(key: &str) -> Submission {
    Submission {
        to: "Tom@Cats.test".into(),
        template: "payout_sent".into(),
        variables: json!({"name": "Tom", "amount": 60, "period": "May"})
            .as_object()
            .unwrap()
            .clone(),
        idempotency_key: key.into(),
        language: None,
    }
}
