//! Hiring's refusals, and the one variant for what nobody planned.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use service::Refused;
use web::ApiError;

/// Everything Hiring can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum HiringError {
    /// What every context refuses alike: an invalid field (422 naming it), no such thing
    /// (404), a move that does not fit the application's or the test's state (409 with
    /// `code`), a reused `Idempotency-Key`.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The candidate's private link does not work (any more) (410 `link_expired`).
    #[error("{0}")]
    Gone(&'static str),
    #[error(transparent)]
    Unexpected(#[from] web::Unexpected),
}

web::unexpected_from!(HiringError: storage::DbError, sqlx::Error);
service::refused_from!(HiringError: web::text::Invalid, messaging::idempotency::KeyError);

impl HiringError {
    /// 422 `validation_failed` naming `field`.
    pub fn invalid(field: &str, message: &str) -> Self {
        Refused::invalid(field, message).into()
    }

    /// 409 `application_closed`: accepted or declined already.
    pub fn closed() -> Self {
        Refused::conflict("application_closed", "the application is already decided").into()
    }
}

impl IntoResponse for HiringError {
    fn into_response(self) -> Response {
        match self {
            HiringError::Refused(refused) => ApiError::from(refused),
            e @ HiringError::Gone(_) => {
                ApiError::new(StatusCode::GONE, "link_expired", e.to_string())
            }
            HiringError::Unexpected(e) => ApiError::from(e),
        }
        .into_response()
    }
}
