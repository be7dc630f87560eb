use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use web::ApiError;

/// Everything Hiring can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum HiringError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("{0}")]
    Gone(&'static str),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl HiringError {
    pub fn invalid(field: &str, message: &str) -> Self {
        HiringError::Invalid {
            field: field.to_owned(),
            message: message.to_owned(),
        }
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

impl From<storage::DbError> for HiringError {
    fn from(e: storage::DbError) -> Self {
        HiringError::Unexpected(e.into())
    }
}

impl From<sqlx::Error> for HiringError {
    fn from(e: sqlx::Error) -> Self {
        HiringError::Unexpected(e.into())
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
            HiringError::Unexpected(e) => ApiError::internal(e.as_ref()),
        }
        .into_response()
    }
}
