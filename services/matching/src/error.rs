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
