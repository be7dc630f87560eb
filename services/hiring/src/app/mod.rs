//! Hiring's use cases, one file each: load -> decide (the domain's move) -> save -> publish
//! -> commit, all in one [`Work`]. Routes and event handlers call these, nothing else.

mod accept;
mod apply;
mod assign_tests;
mod create_test;
mod decline;
mod edit_test;
mod queries;
mod record_account;
mod retire_test;
mod take_test;

pub use accept::accept;
pub use apply::{Applied, apply};
pub use assign_tests::assign_tests;
pub use create_test::create_test;
pub use decline::decline;
pub use edit_test::edit_test;
pub use queries::{application_detail, list_applications, list_tests, photo};
pub use record_account::record_account;
pub use retire_test::retire_test;
pub use take_test::{take_test, tests_to_take};

use contracts::Envelope;
use contracts::hiring::MailRequested;
use contracts::iam::MailRequest;
use messaging::Work;
use serde_json::Value;

use crate::domain::Application;
use crate::error::HiringError;

pub use service::Created;

/// Asks Mail to tell the candidate something, in this work.
async fn request_mail(
    work: &mut Work,
    application: &Application,
    template: &str,
    variables: Value,
    key: String,
) -> Result<(), HiringError> {
    let request = MailRequested {
        application_id: application.id,
        request: MailRequest {
            to: application.email.clone(),
            template: template.to_owned(),
            variables: variables.as_object().cloned().unwrap_or_default(),
            idempotency_key: key,
            // The candidate has no account (yet): only Hiring knows their language.
            language: application.language.clone(),
        },
    };
    work.publish(&Envelope::new(&request, 1, None)).await?;
    Ok(())
}
