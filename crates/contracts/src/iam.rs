//! Events published by IAM, so other contexts can keep the people they need.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Event;
use crate::ids::AccountId;

/// An account was created (a person by an admin or on first sign-in, or a service account).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AccountCreated {
    pub account_id: AccountId,
    pub email: String,
    pub name: String,
    /// Role names: admin, manager, supply, worker, client, service.
    pub roles: Vec<String>,
    /// The person's preferred language (`en`, `ru`), as they chose it in the portal or the
    /// application form they hired in with; absent when they never said (English then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Event for AccountCreated {
    const TYPE: &'static str = "iam.account.created";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "iam";
    fn aggregate_id(&self) -> String {
        self.account_id.to_string()
    }
}

/// An account's name, roles or status changed. Carries the whole new state, so a consumer
/// keeps the newest (highest `aggregate_version`) and ignores older ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AccountChanged {
    pub account_id: AccountId,
    pub email: String,
    pub name: String,
    pub roles: Vec<String>,
    /// `active` or `disabled`.
    pub status: String,
    /// The person's preferred language (`en`, `ru`), as they chose it in the portal or the
    /// application form they hired in with; absent when they never said (English then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Event for AccountChanged {
    const TYPE: &'static str = "iam.account.changed";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "iam";
    fn aggregate_id(&self) -> String {
        self.account_id.to_string()
    }
}

/// A notification to send, as any context asks Mail for it: recipient, one of Mail's
/// templates, its variables, and a key that makes the request idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MailRequest {
    pub to: String,
    pub template: String,
    pub variables: serde_json::Map<String, serde_json::Value>,
    /// The same key from the same context never makes a second message.
    pub idempotency_key: String,
    /// The language to write it in (`en`, `ru`), when the sender knows the recipient's;
    /// absent: the language IAM announced for the address, else English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// IAM asks Mail to send a notification (e.g. the set-password invite). A command through
/// IAM's outbox rather than a call: it survives Mail being down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MailRequested {
    /// The account the mail is about.
    pub account_id: AccountId,
    pub request: MailRequest,
}

impl Event for MailRequested {
    const TYPE: &'static str = "iam.mail.requested";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "iam";
    /// Each request is its own aggregate (version 1): it is not a change of the account.
    fn aggregate_id(&self) -> String {
        format!("mail:{}", self.request.idempotency_key)
    }
}
