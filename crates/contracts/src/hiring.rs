//! Events published by Hiring.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Event;
use crate::iam::MailRequest;
use crate::ids::{ApplicationId, WorkerId};

/// A candidate was accepted: the new worker's profile. IAM makes the account, Matching the
/// normal sample, Billing the payment account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WorkerHired {
    /// The worker's id everywhere from now on (the account id in IAM too).
    pub worker_id: WorkerId,
    pub application_id: ApplicationId,
    pub name: String,
    pub age: i64,
    pub breed: String,
    pub coat_colour: String,
    pub email: String,
    /// Where staff fetch the photo (Hiring's API, manager-authorized).
    pub photo_url: String,
    /// Skill -> level 0..=100, from the test results.
    pub characteristics: BTreeMap<String, i64>,
    /// Skills at or above the strength mark, and below the weakness mark.
    pub strengths: Vec<String>,
    pub weaknesses: Vec<String>,
    /// The language the candidate applied in (`en`, `ru`): the new account's language, so
    /// the invite and later mails are written in it. Absent from older applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Event for WorkerHired {
    const TYPE: &'static str = "hiring.worker.hired";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "hiring";
    fn aggregate_id(&self) -> String {
        self.application_id.to_string()
    }
}

/// Hiring asks Mail to send a notification (application received, declined, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MailRequested {
    pub application_id: ApplicationId,
    pub request: MailRequest,
}

impl Event for MailRequested {
    const TYPE: &'static str = "hiring.mail.requested";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "hiring";
    /// Each request is its own aggregate (version 1).
    fn aggregate_id(&self) -> String {
        format!("mail:{}", self.request.idempotency_key)
    }
}
