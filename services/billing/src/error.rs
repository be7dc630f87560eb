//! Billing's refusals, and the one variant for what nobody planned.

use axum::response::{IntoResponse, Response};
use service::Refused;
use web::ApiError;

/// Everything Billing can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// What every context refuses alike: an invalid field (422 naming it), no such thing
    /// or not the caller's (404), a move that does not fit the state of things (409 with
    /// `code`), a reused `Idempotency-Key`.
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Unexpected(#[from] web::Unexpected),
}

web::unexpected_from!(BillingError: storage::DbError, sqlx::Error);
service::refused_from!(BillingError: web::text::Invalid, messaging::idempotency::KeyError);

impl BillingError {
    /// 422 `validation_failed` naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Refused::invalid(field, message).into()
    }

    /// A rule of the ledger broken by what the code built (an unbalanced entry, an amount
    /// out of range): a bug or an impossible input, never the caller's to fix.
    pub fn ledger(e: impl std::fmt::Display) -> Self {
        BillingError::Unexpected(web::Unexpected::msg(format!("ledger: {e}")))
    }
}

impl IntoResponse for BillingError {
    fn into_response(self) -> Response {
        match self {
            BillingError::Refused(refused) => ApiError::from(refused),
            BillingError::Unexpected(e) => ApiError::from(e),
        }
        .into_response()
    }
}
