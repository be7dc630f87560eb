//! What Ordering refuses, and the one variant for what nobody planned for.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use web::ApiError;

/// Everything Ordering can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum OrderingError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("a service type named {0:?} already exists")]
    DuplicateServiceType(String),
    #[error("{0}")]
    Forbidden(&'static str),
    /// The order is not in a state (or time) that allows this; `code` says which rule.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error("the order changed meanwhile; read it again and retry")]
    Concurrent,
    /// An `Idempotency-Key` may not go ahead: used before for another request (422
    /// `idempotency_key_reused`), or its row failed.
    #[error(transparent)]
    Key(#[from] messaging::idempotency::KeyError),
    #[error(transparent)]
    Unexpected(#[from] web::Unexpected),
}

web::unexpected_from!(
    OrderingError: storage::DbError,
    sqlx::Error,
    storage::ObjectsError,
    serde_json::Error,
);

impl OrderingError {
    pub fn invalid(field: &str, message: &str) -> Self {
        OrderingError::Invalid {
            field: field.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// A text check of `web::text` refused a value: the same 422 as any other invalid field.
impl From<web::text::Invalid> for OrderingError {
    fn from(e: web::text::Invalid) -> Self {
        OrderingError::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

impl IntoResponse for OrderingError {
    fn into_response(self) -> Response {
        match self {
            OrderingError::Invalid { field, message } => ApiError::invalid(field, message),
            OrderingError::NotFound(what) => ApiError::not_found(what),
            e @ OrderingError::DuplicateServiceType(_) => {
                ApiError::conflict("duplicate_service_type", e.to_string())
            }
            OrderingError::Refused { code, message } => ApiError::conflict(code, message),
            e @ OrderingError::Concurrent => ApiError::conflict("concurrent_change", e.to_string()),
            OrderingError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", m),
            OrderingError::Key(e) => service::key_refusal(e),
            OrderingError::Unexpected(e) => ApiError::from(e),
        }
        .into_response()
    }
}
