//! What Ordering refuses, and the one variant for what nobody planned for.

use axum::response::{IntoResponse, Response};
use service::Refused;
use web::ApiError;

/// Everything Ordering can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum OrderingError {
    /// What every context refuses alike: an invalid field (422 naming it), no such order,
    /// service type or photo (404), a move the order's state or time does not allow (409
    /// with `code`), someone else's order (403), a reused `Idempotency-Key`.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The order changed meanwhile (409 `concurrent_change`): kept apart from
    /// [`Refused::Conflict`] because the overdue sweep skips such an order and tries again
    /// on its next pass, while a broken rule is final.
    #[error("the order changed meanwhile; read it again and retry")]
    Concurrent,
    #[error(transparent)]
    Unexpected(#[from] web::Unexpected),
}

web::unexpected_from!(
    OrderingError: storage::DbError,
    sqlx::Error,
    storage::ObjectsError,
    serde_json::Error,
);
service::refused_from!(OrderingError: web::text::Invalid, messaging::idempotency::KeyError);

impl OrderingError {
    /// 422 `validation_failed` naming `field`.
    pub fn invalid(field: &str, message: &str) -> Self {
        Refused::invalid(field, message).into()
    }

    /// 409 `duplicate_service_type`: another service type has this name.
    pub fn duplicate_service_type(name: &str) -> Self {
        Refused::conflict(
            "duplicate_service_type",
            format!("a service type named {name:?} already exists"),
        )
        .into()
    }
}

impl IntoResponse for OrderingError {
    fn into_response(self) -> Response {
        match self {
            OrderingError::Refused(refused) => ApiError::from(refused),
            e @ OrderingError::Concurrent => ApiError::conflict("concurrent_change", e.to_string()),
            OrderingError::Unexpected(e) => ApiError::from(e),
        }
        .into_response()
    }
}
