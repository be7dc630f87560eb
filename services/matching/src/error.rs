use axum::response::{IntoResponse, Response};
use web::ApiError;

/// Everything Matching's API can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum MatchingError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

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

impl From<storage::DbError> for MatchingError {
    fn from(e: storage::DbError) -> Self {
        MatchingError::Unexpected(e.into())
    }
}

impl From<sqlx::Error> for MatchingError {
    fn from(e: sqlx::Error) -> Self {
        MatchingError::Unexpected(e.into())
    }
}

impl IntoResponse for MatchingError {
    fn into_response(self) -> Response {
        match self {
            MatchingError::Invalid { field, message } => ApiError::invalid(field, message),
            MatchingError::NotFound(what) => ApiError::not_found(what),
            MatchingError::Unexpected(e) => ApiError::internal(e.as_ref()),
        }
        .into_response()
    }
}
