//! What Mail refuses, and the one variant for what nobody planned.

use axum::response::{IntoResponse, Response};
use service::Refused;
use web::ApiError;

/// Everything Mail's use cases can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// What every context refuses alike: a value that cannot make a message (an address, a
    /// template, its variables, a key), no such message or not one the caller may see
    /// (404), a retry of a message that is not dead (409 `not_dead`).
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The sender used this idempotency key for another message: a 422 naming the field,
    /// kept apart from [`Refused::Invalid`] because a message request that can never render
    /// is parked for an operator, while this one is not.
    #[error("idempotency_key: was already used for a different message")]
    KeyReused,
    #[error(transparent)]
    Unexpected(#[from] web::Unexpected),
}

// `sqlx::Error`: acquiring a pooled connection for reads.
web::unexpected_from!(MailError: storage::DbError, sqlx::Error);

impl MailError {
    /// 422 `validation_failed` naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Refused::invalid(field, message).into()
    }
}

impl IntoResponse for MailError {
    fn into_response(self) -> Response {
        match self {
            MailError::Refused(refused) => ApiError::from(refused),
            MailError::KeyReused => ApiError::invalid(
                "idempotency_key",
                "was already used for a different message",
            ),
            MailError::Unexpected(e) => ApiError::from(e),
        }
        .into_response()
    }
}
