//! Calls to Matching and Ordering as the manager: `service::Peers::client_with` (the
//! manager's own token, so Matching's audit names the manager and Ordering shows what the
//! manager may see), tried again by `service::peers::retrying` while there is no answer or
//! a 5xx; when that lasts, the service's 503.

use std::future::Future;
use std::time::Duration;

use client::{Client, ClientError};
use service::peers::{self, Retry};

use crate::App;
use crate::error::QualityError;

/// A client of `service` calling with the manager's `token`.
pub fn as_manager(app: &App, service: &'static str, token: &str) -> Result<Client, QualityError> {
    app.ctx
        .peers
        .client_with(service, token)
        .map_err(|e| QualityError::Unavailable {
            service,
            detail: e.to_string(),
        })
}

/// `call` tried as `quality.call_attempts` and `call_backoff_ms` say; still no answer (or
/// a 5xx) after the last attempt is `service`'s 503. Any other answer is handed back.
pub async fn with_retries<T, F, Fut>(
    app: &App,
    service: &'static str,
    call: F,
) -> Result<Result<T, ClientError>, QualityError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let retry = Retry::doubling(
        app.config.call_attempts,
        Duration::from_millis(app.config.call_backoff_ms),
    );
    peers::retrying_or(retry, call, |e| {
        tracing::warn!(service, error = %e, "call failed after every attempt");
        QualityError::Unavailable {
            service,
            detail: e.to_string(),
        }
    })
    .await
}
