//! Hiring's refusals, and the one variant for what nobody planned.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use web::ApiError;

/// Everything Hiring can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum HiringError {
    /// A field of the request is not acceptable (422 naming it).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// No such thing (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The move does not fit the application's or the test's state (409 with `code`).
    #[error("{1}")]
    Conflict(&'static str, String),
    /// The candidate's private link does not work (any more) (410 `link_expired`).
    #[error("{0}")]
    Gone(&'static str),
    /// An `Idempotency-Key` may not go ahead: used before for another request (422
    /// `idempotency_key_reused`), or its row failed.
    #[error(transparent)]
    Key(#[from] messaging::idempotency::KeyError),
    #[error(transparent)]
    Unexpected(#[from] web::Unexpected),
}

web::unexpected_from!(HiringError: storage::DbError, sqlx::Error);

impl HiringError {
    pub fn invalid(field: &str, message: &str) -> Self {
        HiringError::Invalid {
            field: field.to_owned(),
            message: message.to_owned(),
        }
    }

    /// 409 `application_closed`: accepted or declined already.
    pub fn closed() -> Self {
        HiringError::Conflict(
            "application_closed",
            "the application is already decided".into(),
        )
    }
}

/// A text check of `web::text` refused a value: the same 422 as any other invalid field.
impl From<web::text::Invalid> for HiringError {
    fn from(e: web::text::Invalid) -> Self {
        HiringError::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

impl IntoResponse for HiringError {
    fn into_response(self) -> Response {
        match self {
            HiringError::Invalid { field, message } => ApiError::invalid(field, message),
            HiringError::NotFound(what) => ApiError::not_found(what),
            HiringError::Conflict(code, message) => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            e @ HiringError::Gone(_) => {
                ApiError::new(StatusCode::GONE, "link_expired", e.to_string())
            }
            HiringError::Key(e) => service::key_refusal(e),
            HiringError::Unexpected(e) => ApiError::from(e),
        }
        .into_response()
    }
}
