//! Inventory's refusals, and the one variant for what nobody planned.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use service::Refused;
use web::ApiError;

/// Everything Inventory can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// What every context refuses alike: an invalid field (422 naming it), no such thing
    /// (404), a move that does not fit the state of things (409 with `code`: a consumable
    /// name taken, a kit already issued, a kit whose consumables are short), a reused
    /// `Idempotency-Key`.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// A cookie contractor's callback without its valid signature (401
    /// `invalid_signature`): it changes nothing.
    #[error("the callback is not signed by the cookie contractor")]
    BadSignature,
    #[error(transparent)]
    Unexpected(#[from] web::Unexpected),
}

web::unexpected_from!(InventoryError: storage::DbError, sqlx::Error);
service::refused_from!(InventoryError: web::text::Invalid, messaging::idempotency::KeyError);

impl InventoryError {
    /// 422 `validation_failed` naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Refused::invalid(field, message).into()
    }
}

impl IntoResponse for InventoryError {
    fn into_response(self) -> Response {
        match self {
            InventoryError::Refused(refused) => ApiError::from(refused),
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
