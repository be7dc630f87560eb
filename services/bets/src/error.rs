//! Bets' refusals, the peers it could not reach, and the one variant for what nobody
//! planned.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use service::Refused;
use web::ApiError;

/// Everything Bets can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum BetsError {
    /// What every context refuses alike: an invalid field (422 naming it), no such bet
    /// (404), a move that does not fit the bet's state (409 with `code`: `order_not_active`,
    /// `stakes_closed`, `order_not_final`, `bet_exists`, `stake_refused`), a reused
    /// `Idempotency-Key`.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// Ordering or Billing did not answer (after every attempt) or failed: 503
    /// `peer_unavailable` naming it. What was decided before the call stays recorded and
    /// is finished by a retry or the sweep; nothing is half-done.
    #[error("{peer} is unavailable: {detail}")]
    PeerUnavailable { peer: &'static str, detail: String },
    #[error(transparent)]
    Unexpected(#[from] web::Unexpected),
}

web::unexpected_from!(BetsError: storage::DbError, sqlx::Error);
service::refused_from!(BetsError: web::text::Invalid, messaging::idempotency::KeyError);

impl BetsError {
    /// 422 `validation_failed` naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Refused::invalid(field, message).into()
    }

    /// 409 with `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Refused::conflict(code, message).into()
    }
}

impl From<service::PeerError> for BetsError {
    fn from(e: service::PeerError) -> Self {
        // No token or no way to reach peers: the same 503 as a peer that does not answer.
        BetsError::PeerUnavailable {
            peer: "iam",
            detail: e.to_string(),
        }
    }
}

impl IntoResponse for BetsError {
    fn into_response(self) -> Response {
        match self {
            BetsError::Refused(refused) => ApiError::from(refused),
            BetsError::PeerUnavailable { peer, detail } => {
                tracing::warn!(peer, %detail, "a peer is unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "peer_unavailable",
                    format!(
                        "{peer} is unavailable; nothing is lost: try again later (the same \
                         Idempotency-Key finishes what was started)"
                    ),
                )
                .with_header(header::RETRY_AFTER, HeaderValue::from_static("5"))
            }
            BetsError::Unexpected(e) => ApiError::from(e),
        }
        .into_response()
    }
}
