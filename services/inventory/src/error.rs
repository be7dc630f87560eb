//! Inventory's refusals, and the one variant for what nobody planned.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use web::ApiError;

/// Everything Inventory can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// A field of the request is not acceptable (422 naming it).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// No such thing (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The move does not fit the state of things (409 with a stable `code`): a consumable
    /// name taken, a kit already issued, a kit whose consumables are short.
    #[error("{1}")]
    Conflict(&'static str, String),
    /// An `Idempotency-Key` may not go ahead: used before for another request (422
    /// `idempotency_key_reused`), or its row failed.
    #[error(transparent)]
    Key(#[from] messaging::idempotency::KeyError),
    /// A cookie contractor's callback without its valid signature (401
    /// `invalid_signature`): it changes nothing.
    #[error("the callback is not signed by the cookie contractor")]
    BadSignature,
    #[error(transparent)]
    Unexpected(#[from] web::Unexpected),
}

web::unexpected_from!(InventoryError: storage::DbError, sqlx::Error);

impl InventoryError {
    /// 422 `validation_failed` naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        InventoryError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A text check of `web::text` refused a value: the same 422 as any other invalid field.
impl From<web::text::Invalid> for InventoryError {
    fn from(e: web::text::Invalid) -> Self {
        InventoryError::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

impl IntoResponse for InventoryError {
    fn into_response(self) -> Response {
        match self {
            InventoryError::Invalid { field, message } => ApiError::invalid(field, message),
            InventoryError::NotFound(what) => ApiError::not_found(what),
            InventoryError::Conflict(code, message) => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            InventoryError::Key(e) => service::key_refusal(e),
            InventoryError::BadSignature => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_signature",
                format!(
                    "{}: missing or not the cookie contractor's signature of this body",
                    crate::contractor::SIGNATURE_HEADER
                ),
            ),
            InventoryError::Unexpected(e) => ApiError::from(e),
        }
        .into_response()
    }
}
