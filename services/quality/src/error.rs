//! Quality's refusals, and the one variant for what nobody planned.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use service::Refused;
use web::ApiError;

/// Everything Quality can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    /// What every context refuses alike: an invalid field (422 naming it), no such thing
    /// (404), a move that does not fit (409 with `code`: a review the order has already,
    /// a stale revision, an adjustment made already with another change), a reused
    /// `Idempotency-Key`.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// Another service Quality calls synchronously (`matching`, `ordering`) gave no
    /// answer after every attempt: 503 `<service>_unavailable`, nothing changed here.
    #[error("{service} did not answer: {detail}")]
    Unavailable {
        service: &'static str,
        detail: String,
    },
    /// Matching refused the adjustment (409 `matching_refused` with its reason): nothing
    /// changed here or there.
    #[error("matching refused the adjustment: {0}")]
    MatchingRefused(String),
    #[error(transparent)]
    Unexpected(#[from] web::Unexpected),
}

web::unexpected_from!(QualityError: storage::DbError, sqlx::Error, serde_json::Error);
service::refused_from!(QualityError: web::text::Invalid, messaging::idempotency::KeyError);

impl QualityError {
    /// 422 `validation_failed` naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Refused::invalid(field, message).into()
    }

    /// 409 with `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Refused::conflict(code, message).into()
    }
}

impl IntoResponse for QualityError {
    fn into_response(self) -> Response {
        match self {
            QualityError::Refused(refused) => ApiError::from(refused),
            QualityError::Unavailable { service, detail } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                match service {
                    "matching" => "matching_unavailable",
                    _ => "ordering_unavailable",
                },
                format!("{service} did not answer ({detail}); nothing was changed, try again"),
            ),
            QualityError::MatchingRefused(detail) => ApiError::conflict(
                "matching_refused",
                format!("Matching refused the adjustment: {detail}"),
            ),
            QualityError::Unexpected(e) => ApiError::from(e),
        }
        .into_response()
    }
}
