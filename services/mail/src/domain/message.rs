//! A message: composed from a template when it is asked for, then delivered — or, after
//! too many failed attempts, dead until an operator retries it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use contracts::MessageId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::templates::{self, Language};
use crate::MailConfig;
use crate::error::MailError;

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for its (next) attempt.
    Queued,
    /// Accepted by the SMTP server, or written as an `.eml` file.
    Sent,
    /// Given up on: refused for good, or out of attempts. An operator can retry it.
    Dead,
}

impl Status {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sent => "sent",
            Status::Dead => "dead",
        }
    }

    /// The stored text back; `None` for anything else.
    pub fn parse(s: &str) -> Option<Status> {
        [Status::Queued, Status::Sent, Status::Dead]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

/// What a sender asks for: the same from the API and from other contexts' events.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub to: &'a str,
    pub template: &'a str,
    pub variables: &'a Map<String, Value>,
    /// The same key from the same sender is the same message.
    pub idempotency_key: &'a str,
    /// The language the sender asks for (a tag); `None`: the recipient's as IAM announced
    /// it, else English (see [`crate::app::submit`]).
    pub language: Option<&'a str>,
}

/// A message as Mail keeps it: rendered once, so every attempt sends exactly the same.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: MessageId,
    /// Who asked: the account (API) or the producing context (events), as text.
    pub sender: String,
    pub idempotency_key: String,
    pub recipient: String,
    pub template: String,
    /// The JSON object it was rendered with.
    pub variables: Value,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub status: Status,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl Message {
    /// Checks and renders `request` from `sender` in `language` as a new queued message.
    pub fn compose(
        id: MessageId,
        now: DateTime<Utc>,
        sender: &str,
        request: Request<'_>,
        language: Language,
    ) -> Result<Message, MailError> {
        let key = request.idempotency_key.trim();
        // Keys also arrive in other contexts' events, where no HTTP check ran: a control
        // character (NUL cannot even be stored on PostgreSQL) is refused here too.
        if key.is_empty() || key.len() > 200 || key.contains(char::is_control) {
            return Err(MailError::invalid(
                "idempotency_key",
                "must be 1 to 200 characters, none of them control characters",
            ));
        }
        // The address is the one value that goes into a header as it is: the only value of
        // a message that is refused rather than made safe.
        let to = request.to.trim();
        if to.contains(char::is_control) || to.parse::<lettre::Address>().is_err() {
            return Err(MailError::invalid("to", "is not an e-mail address"));
        }
        let rendered = templates::render(request.template, language, request.variables)
            .map_err(|e| MailError::invalid(e.field(), e.to_string()))?;
        Ok(Message {
            id,
            sender: sender.to_owned(),
            idempotency_key: key.to_owned(),
            recipient: to.to_lowercase(),
            template: request.template.to_owned(),
            variables: Value::Object(request.variables.clone()),
            subject: rendered.subject,
            body_text: rendered.text,
            body_html: rendered.html,
            status: Status::Queued,
            attempts: 0,
            last_error: None,
            created_at: now,
            sent_at: None,
        })
    }

    /// Whether `other` (composed under the same key) asks for the same message: a sender
    /// repeating itself gets the first one; the key for another message is refused.
    pub fn is_same_request(&self, other: &Message) -> bool {
        self.recipient == other.recipient
            && self.template == other.template
            && self.variables == other.variables
    }

    /// What attempt number `attempts + 1`, ending in `result` at `now`, leaves behind.
    pub fn after_attempt(
        &self,
        result: Result<(), Failure>,
        retries: &Retries,
        now: DateTime<Utc>,
    ) -> Outcome {
        let Err(failure) = result else {
            return Outcome::Sent { at: now };
        };
        let attempt = self.attempts.saturating_add(1);
        // A permanent refusal (5xx) will not change by retrying: dead at once.
        let dead = failure.permanent || attempt >= retries.max_attempts;
        let delay =
            chrono::Duration::from_std(retries.backoff(attempt)).unwrap_or(chrono::Duration::MAX);
        Outcome::Failed {
            attempt,
            error: failure.error,
            dead,
            next_attempt_at: now.checked_add_signed(delay).unwrap_or(now),
        }
    }
}

/// Why a delivery attempt failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    pub permanent: bool,
}

impl Failure {
    /// A failure retrying cannot cure (the server refused the recipient for good).
    pub fn permanent(error: String) -> Self {
        Failure {
            error,
            permanent: true,
        }
    }

    /// A failure that may pass (a server down, a full disk).
    pub fn transient(error: String) -> Self {
        Failure {
            error,
            permanent: false,
        }
    }
}

/// What one attempt leaves: the message sent, or queued again (or dead) with the reason.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Sent {
        at: DateTime<Utc>,
    },
    Failed {
        /// The number of the attempt that failed (1 for the first).
        attempt: i64,
        error: String,
        /// No attempt follows (until an operator retries it).
        dead: bool,
        /// When the next attempt is due (kept also for a dead message).
        next_attempt_at: DateTime<Utc>,
    },
}

/// How often and how patiently Mail tries (from `[mail]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries {
    /// Attempts before a message is dead.
    pub max_attempts: i64,
    /// The wait after the first failure; it doubles with each one after.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Retries {
    /// The wait after failed attempt number `attempt` (1 for the first).
    pub fn backoff(&self, attempt: i64) -> Duration {
        let exp = (attempt - 1).clamp(0, 20) as u32;
        self.initial.saturating_mul(1 << exp).min(self.max)
    }
}

impl From<&MailConfig> for Retries {
    fn from(c: &MailConfig) -> Self {
        Retries {
            max_attempts: c.max_attempts,
            initial: Duration::from_millis(c.backoff_initial_ms),
            max: Duration::from_millis(c.backoff_max_ms),
        }
    }
}

#[cfg(test)]
// Tests take "now" from the machine where any instant will do.
#[allow(clippy::disallowed_methods)]
mod tests {
    use serde_json::json;

    use super::*;

    fn retries() -> Retries {
        Retries {
            max_attempts: 3,
            initial: Duration::from_millis(1000),
            max: Duration::from_millis(3000),
        }
    }

    fn queued(attempts: i64) -> Message {
        let vars = json!({"name": "Tom", "amount": 60, "period": "May"});
        let mut m = Message::compose(
            MessageId::new(),
            Utc::now(),
            "billing",
            Request {
                to: " Tom@Cats.test ",
                template: "payout_sent",
                variables: vars.as_object().unwrap(),
                idempotency_key: " p1 ",
                language: None,
            },
            Language::En,
        )
        .unwrap();
        m.attempts = attempts;
        m
    }

    #[test]
    fn given_a_request_when_composed_then_it_is_queued_rendered_and_trimmed() {
        let m = queued(0);
        assert_eq!(
            (m.recipient.as_str(), m.idempotency_key.as_str(), m.status),
            ("tom@cats.test", "p1", Status::Queued)
        );
        assert_eq!(m.subject, "Your MCF payout for May");
        assert!(m.body_text.contains("Tom"), "{}", m.body_text);
    }

    #[test]
    fn given_the_same_key_when_the_content_differs_then_it_is_another_request() {
        let (a, mut b) = (queued(0), queued(0));
        assert!(a.is_same_request(&b), "ids and times do not matter");
        b.recipient = "felix@cats.test".into();
        assert!(!a.is_same_request(&b));
    }

    #[test]
    fn given_failures_when_attempts_run_out_then_the_wait_doubles_up_to_the_max_and_it_dies() {
        let now = Utc::now();
        let fail = || Err(Failure::transient("down".into()));
        let waits: Vec<_> = (0..3)
            .map(|n| queued(n).after_attempt(fail(), &retries(), now))
            .collect();
        let at = |s: i64| now + chrono::Duration::seconds(s);
        assert_eq!(
            waits,
            [(1, false, at(1)), (2, false, at(2)), (3, true, at(3))].map(
                |(attempt, dead, next_attempt_at)| Outcome::Failed {
                    attempt,
                    error: "down".into(),
                    dead,
                    next_attempt_at
                }
            )
        );
        assert_eq!(retries().backoff(60), Duration::from_millis(3000));
    }

    #[test]
    fn given_a_permanent_refusal_when_recorded_then_it_is_dead_at_once() {
        let outcome = queued(0).after_attempt(
            Err(Failure::permanent("550 no such user".into())),
            &retries(),
            Utc::now(),
        );
        assert!(matches!(
            outcome,
            Outcome::Failed {
                dead: true,
                attempt: 1,
                ..
            }
        ));
        let now = Utc::now();
        assert_eq!(
            queued(1).after_attempt(Ok(()), &retries(), now),
            Outcome::Sent { at: now }
        );
    }
}
