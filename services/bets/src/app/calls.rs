//! Calls to Ordering and Billing with Bets' own service token: each attempt bounded by
//! `call_timeout_ms`, no answer and 5xx tried again after a doubling pause (from
//! `call_backoff_ms`, at most 10 s) up to `call_attempts` times, with the same
//! Idempotency-Key, so a call that reached Billing but whose answer was lost books nothing
//! twice. Every other refusal is handed back as it came.

use std::future::Future;
use std::time::Duration;

use client::{Client, ClientError};
use contracts::OrderId;
use ordering::client::OrderingClient;
use service::Refused;
use service::peers::{self, Retry};

use crate::App;
use crate::domain::OrderStatus;
use crate::error::BetsError;

/// Ordering's registered name.
pub const ORDERING: &str = "ordering";
/// Billing's registered name.
pub const BILLING: &str = "billing";

/// A client of `peer` calling with Bets' token; no token or no way to reach it is the
/// peer's 503.
pub async fn peer(app: &App, peer: &'static str) -> Result<Client, BetsError> {
    app.ctx
        .peers
        .client(peer)
        .await
        .map_err(|e| BetsError::PeerUnavailable {
            peer,
            detail: e.to_string(),
        })
}

/// `call` tried as the module says (`service::peers::retrying`, each attempt bounded by
/// `call_timeout_ms`); after the last transient failure, `peer`'s 503. Any other answer (a
/// success or a refusal) is handed back.
pub async fn with_retries<T, F, Fut>(
    app: &App,
    peer: &'static str,
    call: F,
) -> Result<Result<T, ClientError>, BetsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let attempts = app.config.call_attempts;
    let retry = Retry::doubling(attempts, Duration::from_millis(app.config.call_backoff_ms))
        .each_within(app.config.call_timeout());
    peers::retrying_or(retry, call, |e| BetsError::PeerUnavailable {
        peer,
        detail: format!("after {attempts} attempts: {e}"),
    })
    .await
}

/// The status of `order` as Ordering answers it now: 404 when Ordering knows no such order;
/// its other refusals (it would not let Bets read orders: a deployment mistake) are its 503.
pub async fn order_status(app: &App, order: OrderId) -> Result<OrderStatus, BetsError> {
    let ordering = OrderingClient(peer(app, ORDERING).await?);
    match with_retries(app, ORDERING, || ordering.order(order)).await? {
        Ok(view) => Ok(view.order.status),
        Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => {
            Err(Refused::NotFound("order").into())
        }
        Err(e) => Err(BetsError::PeerUnavailable {
            peer: ORDERING,
            detail: e.to_string(),
        }),
    }
}
