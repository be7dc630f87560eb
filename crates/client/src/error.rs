//! What a call can end in besides its answer.

use http::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Reply;

/// An RFC 9457 problem as every MCF service answers its refusals and failures
/// (`application/problem+json`): a stable machine-readable `code` and, for validation
/// errors, the offending `field`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Problem {
    /// The problem type; `about:blank` (the status says it all, `code` refines it).
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase (`Unprocessable Entity`).
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// Stable and machine-readable: `validation_failed`, `not_found`, `forbidden`,
    /// `unauthorized`, a domain refusal (`already_replayed`), `internal`.
    pub code: String,
    /// For people; for 5xx an opaque message (the cause is logged, not sent).
    pub detail: String,
    /// The request field a validation error is about (`email`, `Idempotency-Key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A problem+json answer: the problem, and the reply it came in (status, headers such as
/// `WWW-Authenticate`).
#[derive(Debug, Clone)]
pub struct Refusal {
    pub problem: Problem,
    pub reply: Reply,
}

/// An answer that is not what the call expected: a success body that is not the type
/// asked for, or a 4xx/5xx that is not problem+json (OAuth errors, pages).
#[derive(Debug, Clone)]
pub struct Undecodable {
    /// Why it did not decode.
    pub error: String,
    pub reply: Reply,
}

/// Why a call did not give its answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service refused or failed, and said why (problem+json, 4xx or 5xx).
    #[error("{} {}: {}", .0.problem.status, .0.problem.code, .0.problem.detail)]
    Problem(Box<Refusal>),
    /// No answer: the connection failed or timed out.
    #[error("no answer: {0}")]
    Transport(String),
    /// An answer that could not be read as expected.
    #[error("{}: cannot decode the answer: {}", .0.reply.status, .0.error)]
    Decode(Box<Undecodable>),
    /// Nothing was sent: the request could not be built (a body that does not serialize,
    /// a header value that is not one).
    #[error("cannot build the request: {0}")]
    Request(String),
}

impl ClientError {
    /// A 4xx/5xx answer: a problem if it is one, else undecodable.
    pub(crate) fn from_refusal(reply: Reply) -> Self {
        match reply.problem() {
            Some(problem) => ClientError::Problem(Box::new(Refusal { problem, reply })),
            None => ClientError::Decode(Box::new(Undecodable {
                error: format!(
                    "{} without application/problem+json: {}",
                    reply.status,
                    reply.text().chars().take(200).collect::<String>()
                ),
                reply,
            })),
        }
    }

    /// The problem's `code` (`validation_failed`, `not_found`...), if the service said one.
    pub fn code(&self) -> Option<&str> {
        self.problem().map(|p| p.code.as_str())
    }

    /// The field a validation error names, if any.
    pub fn field(&self) -> Option<&str> {
        self.problem().and_then(|p| p.field.as_deref())
    }

    /// The answer's status, if there was an answer.
    pub fn status(&self) -> Option<StatusCode> {
        self.reply().map(|r| r.status)
    }

    /// The problem the service answered, if it answered one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Problem(refusal) => Some(&refusal.problem),
            _ => None,
        }
    }

    /// The answer as received (status, headers, body), if there was one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            ClientError::Problem(refusal) => Some(&refusal.reply),
            ClientError::Decode(undecodable) => Some(&undecodable.reply),
            ClientError::Transport(_) | ClientError::Request(_) => None,
        }
    }
}
