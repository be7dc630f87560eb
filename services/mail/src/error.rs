//! What Mail refuses, and the one variant for what nobody planned.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use web::ApiError;

/// Everything Mail's use cases can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// A value that cannot make a message (an address, a template, its variables, a key).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// No such message, or not one the caller may see.
    #[error("message not found")]
    NotFound,
    /// Only a dead message goes back in the queue.
    #[error("only dead messages can be retried")]
    NotDead,
    /// The sender used this idempotency key for another message.
    #[error("idempotency_key: was already used for a different message")]
    KeyReused,
    #[error(transparent)]
    Unexpected(#[from] web::Unexpected),
}

// `sqlx::Error`: acquiring a pooled connection for reads.
web::unexpected_from!(MailError: storage::DbError, sqlx::Error);

impl MailError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        MailError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl IntoResponse for MailError {
    fn into_response(self) -> Response {
        match self {
            MailError::Invalid { field, message } => ApiError::invalid(field, message),
            MailError::NotFound => ApiError::not_found("message"),
            MailError::NotDead => ApiError::new(
                StatusCode::CONFLICT,
                "not_dead",
                "only dead messages can be retried",
            ),
            MailError::KeyReused => ApiError::invalid(
                "idempotency_key",
                "was already used for a different message",
            ),
            MailError::Unexpected(e) => ApiError::from(e),
        }
        .into_response()
    }
}
