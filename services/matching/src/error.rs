use axum::response::{IntoResponse, Response};
use web::ApiError;

/// What Matching refuses (its domain's answers), or a failure nobody planned for.
#[derive(Debug, thiserror::Error)]
pub enum MatchingError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    /// An `Idempotency-Key` may not go ahead: used before for another request (422
    /// `idempotency_key_reused`), or its row failed.
    #[error(transparent)]
    Key(#[from] messaging::idempotency::KeyError),
    #[error(transparent)]
    Unexpected(#[from] web::Unexpected),
}

web::unexpected_from!(MatchingError: storage::DbError, sqlx::Error, serde_json::Error);

impl MatchingError {
    pub fn invalid(field: impl Into<String>, message: &str) -> Self {
        MatchingError::Invalid {
            field: field.into(),
            message: message.to_owned(),
        }
    }
}

/// A text check of `web::text` refused a value: the same 422 as any other invalid field.
impl From<web::text::Invalid> for MatchingError {
    fn from(e: web::text::Invalid) -> Self {
        MatchingError::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

impl IntoResponse for MatchingError {
    fn into_response(self) -> Response {
        match self {
            MatchingError::Invalid { field, message } => ApiError::invalid(field, message),
            MatchingError::NotFound(what) => ApiError::not_found(what),
            MatchingError::Key(e) => service::key_refusal(e),
            MatchingError::Unexpected(e) => ApiError::from(e),
        }
        .into_response()
    }
}
