use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use web::ApiError;

/// Everything Mail's API can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("{}", .0.message)]
    Api(ApiError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl MailError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        MailError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<ApiError> for MailError {
    fn from(e: ApiError) -> Self {
        MailError::Api(e)
    }
}

impl From<storage::DbError> for MailError {
    fn from(e: storage::DbError) -> Self {
        MailError::Unexpected(e.into())
    }
}

impl From<sqlx::Error> for MailError {
    fn from(e: sqlx::Error) -> Self {
        MailError::Unexpected(e.into())
    }
}

impl IntoResponse for MailError {
    fn into_response(self) -> Response {
        match self {
            MailError::Invalid { field, message } => ApiError::invalid(field, message),
            MailError::NotFound(what) => ApiError::not_found(what),
            MailError::Conflict(code, message) => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            MailError::Api(e) => e,
            MailError::Unexpected(e) => ApiError::internal(e.as_ref()),
        }
        .into_response()
    }
}
