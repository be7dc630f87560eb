use axum::response::{IntoResponse, Response};
use service::Refused;
use web::ApiError;

/// What Matching refuses (its domain's answers), or a failure nobody planned for.
#[derive(Debug, thiserror::Error)]
pub enum MatchingError {
    /// What every context refuses alike: an invalid field (422 naming it), no such sample
    /// (404), a reused `Idempotency-Key`.
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Unexpected(#[from] web::Unexpected),
}

web::unexpected_from!(MatchingError: storage::DbError, sqlx::Error, serde_json::Error);
service::refused_from!(MatchingError: web::text::Invalid, messaging::idempotency::KeyError);

impl MatchingError {
    /// 422 `validation_failed` naming `field`.
    pub fn invalid(field: impl Into<String>, message: &str) -> Self {
        Refused::invalid(field, message).into()
    }
}

impl IntoResponse for MatchingError {
    fn into_response(self) -> Response {
        match self {
            MatchingError::Refused(refused) => ApiError::from(refused),
            MatchingError::Unexpected(e) => ApiError::from(e),
        }
        .into_response()
    }
}
