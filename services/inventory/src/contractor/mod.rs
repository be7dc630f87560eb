//! The fortune-cookie contractor, as Inventory calls it (I/O at the edge): one order per
//! kit, `POST {url}/cookies` with the kit id as `Idempotency-Key`, so a retry, or an order
//! repeated after a crash between the call and recording its answer, bakes nothing new.
//! Each attempt has a timeout; timeouts, 5xx and lost connections are retried with
//! exponential backoff; a refusal (4xx) is not. A [`Breaker`] stops the calls while the
//! contractor keeps failing. The contractor calls back, signing the body with HMAC-SHA256
//! under the shared secret ([`Contractor::verify`]); [`Contractor::check`] asks it for a
//! cookie whose callback never came.

pub mod breaker;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub use breaker::{Breaker, BreakerState, BreakerView};

use crate::config::InventoryConfig;

/// The header carrying a callback's signature: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "x-cookie-signature";

/// The longest pause between two attempts, however many there are.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What the contractor needs to bake for a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CookieOrder {
    pub client_name: String,
    pub client_email: String,
    pub order_id: String,
    /// Where the contractor calls back once the cookie is delivered.
    pub callback_url: String,
}

/// The contractor's word on a cookie. (Named in the OpenAPI document as before it served
/// both the client and the callback route.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "ReportedState")]
pub enum CookieReport {
    Baking,
    Delivered,
    Refused,
    /// Called off by us.
    Canceled,
}

/// The contractor took the order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Taken {
    pub cookie_id: String,
    pub state: CookieReport,
}

/// The contractor's callback, signed: `X-Cookie-Signature: sha256=<hex HMAC-SHA256 of the
/// body under the shared secret>` (also the answer of its `GET /cookies/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "CookieCallback")]
pub struct Delivery {
    /// The contractor's id of the cookie.
    pub cookie_id: String,
    /// The `Idempotency-Key` it was ordered with: the kit id.
    pub key: String,
    pub state: CookieReport,
}

/// Why a call did not get the cookie ordered (or checked).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The contractor answered no (4xx, its `status`): trying again would get the same.
    #[error("the contractor refused: {why}")]
    Refused { status: u16, why: String },
    /// No usable answer after every attempt (timeouts, 5xx, lost connections).
    #[error("no answer from the contractor after {attempts} attempts; last: {last}")]
    Unavailable { attempts: u32, last: String },
    /// The breaker is open: no call was made.
    #[error("the contractor is failing; calls paused (circuit open)")]
    CircuitOpen,
}

/// One attempt's outcome.
enum Attempt<T> {
    Done(T),
    Refused(u16, String),
    Failed(String),
}

/// The contractor's client: its URL, secret, timeouts, retries and breaker.
pub struct Contractor {
    http: reqwest::Client,
    url: String,
    secret: String,
    attempts: u32,
    backoff: Duration,
    breaker: Mutex<Breaker>,
}

impl Contractor {
    /// The client `config` describes.
    pub fn new(config: &InventoryConfig) -> anyhow::Result<Contractor> {
        Ok(Contractor {
            http: reqwest::Client::builder()
                .timeout(Duration::from_millis(config.contractor_timeout_ms))
                .connect_timeout(Duration::from_millis(config.contractor_timeout_ms))
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            url: config.contractor_url.trim_end_matches('/').to_owned(),
            secret: config.contractor_secret.clone(),
            attempts: config.contractor_attempts,
            backoff: Duration::from_millis(config.contractor_backoff_ms),
            breaker: Mutex::new(Breaker::new(
                config.contractor_breaker_failures,
                Duration::from_millis(config.contractor_breaker_cool_down_ms),
            )),
        })
    }

    fn breaker(&self) -> std::sync::MutexGuard<'_, Breaker> {
        // Every change of the breaker is a few assignments: a panic elsewhere cannot leave
        // it half-changed.
        self.breaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The breaker as admins see it now.
    pub fn breaker_view(&self) -> BreakerView {
        self.breaker().view(Instant::now())
    }

    /// Orders the cookie of kit `key` for `order`.
    pub async fn order(&self, key: &str, order: &CookieOrder) -> Result<Taken, CallError> {
        let url = format!("{}/cookies", self.url);
        self.call(|| {
            self.http
                .post(&url)
                .header("Idempotency-Key", key)
                .json(order)
        })
        .await
    }

    /// Asks the contractor about cookie `contractor_id`.
    pub async fn check(&self, contractor_id: &str) -> Result<Delivery, CallError> {
        let url = format!("{}/cookies/{contractor_id}", self.url);
        self.call(|| self.http.get(&url)).await
    }

    /// Calls off the cookie ordered under kit `key`: `Ok(true)` when the contractor had
    /// delivered it first, `Ok(false)` when it is called off (or nothing was baked under the
    /// key).
    pub async fn cancel(&self, key: &str) -> Result<bool, CallError> {
        let url = format!("{}/cookies/by-key/{key}", self.url);
        match self
            .call::<serde_json::Value, _>(|| self.http.delete(&url))
            .await
        {
            Ok(_) | Err(CallError::Refused { status: 404, .. }) => Ok(false),
            Err(CallError::Refused { status: 409, .. }) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Sends the request `make` builds, attempt after attempt (the same request, the same
    /// key) with doubling pauses, while the breaker lets it.
    async fn call<T, F>(&self, make: F) -> Result<T, CallError>
    where
        T: serde::de::DeserializeOwned,
        F: Fn() -> reqwest::RequestBuilder,
    {
        let mut pause = self.backoff;
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            if !self.breaker().allow(Instant::now()) {
                return Err(if attempt == 1 {
                    CallError::CircuitOpen
                } else {
                    CallError::Unavailable {
                        attempts: attempt - 1,
                        last: format!("{last}; then the circuit opened"),
                    }
                });
            }
            match Self::attempt(make()).await {
                Attempt::Done(answer) => {
                    self.breaker().succeeded();
                    return Ok(answer);
                }
                Attempt::Refused(status, why) => {
                    // The contractor is up and answered: not a failure of the line.
                    self.breaker().succeeded();
                    return Err(CallError::Refused { status, why });
                }
                Attempt::Failed(why) => {
                    tracing::debug!(attempt, error = %why, "cookie contractor call failed");
                    self.breaker().failed(Instant::now(), &why);
                    last = why;
                }
            }
            if attempt < self.attempts {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_BACKOFF);
            }
        }
        Err(CallError::Unavailable {
            attempts: self.attempts,
            last,
        })
    }

    async fn attempt<T: serde::de::DeserializeOwned>(
        request: reqwest::RequestBuilder,
    ) -> Attempt<T> {
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Attempt::Failed("timed out".into()),
            Err(e) if e.is_connect() => {
                return Attempt::Failed(format!("cannot connect: {}", source_of(&e)));
            }
            Err(e) => return Attempt::Failed(format!("connection lost: {}", source_of(&e))),
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) if e.is_timeout() => return Attempt::Failed("timed out".into()),
            Err(e) => return Attempt::Failed(format!("connection lost: {}", source_of(&e))),
        };
        if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
            return Attempt::Refused(status.as_u16(), detail(status, &body));
        }
        if !status.is_success() {
            return Attempt::Failed(detail(status, &body));
        }
        match serde_json::from_slice(&body) {
            Ok(answer) => Attempt::Done(answer),
            // The same request is answered the same (the key): maybe a proxy mangled it.
            Err(e) => Attempt::Failed(format!("{status} with an unreadable body: {e}")),
        }
    }

    /// Whether `signature` (the [`SIGNATURE_HEADER`]) is the contractor's signature of
    /// `body` under the shared secret (compared in constant time).
    pub fn verify(&self, body: &[u8], signature: Option<&str>) -> bool {
        verify(&self.secret, body, signature)
    }
}

/// Whether `signature` is `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn verify(secret: &str, body: &[u8], signature: Option<&str>) -> bool {
    let Some(hex_mac) = signature.and_then(|s| s.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(mac_bytes) = hex::decode(hex_mac) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&mac_bytes).is_ok()
}

/// The innermost cause of a transport error (reqwest's own text says only "error sending
/// request").
fn source_of(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

/// A refusal's or failure's words: the problem's detail if it sent one, else the status.
fn detail(status: reqwest::StatusCode, body: &[u8]) -> String {
    let said = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned));
    match said {
        Some(detail) => format!("{} ({detail})", status.as_u16()),
        None => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // The contractor's own signing: what the sandbox does, as a real contractor would.
    use sandbox_cookies::sign;

    #[test]
    fn given_a_body_signed_with_the_secret_then_it_verifies_and_nothing_else_does() {
        let body = br#"{"cookie_id":"c","key":"k","state":"delivered"}"#;
        let good = sign("s3cret", body);
        assert!(verify("s3cret", body, Some(&good)));
        // Another secret, another body, no prefix, no hex, nothing: refused
        assert!(!verify("other", body, Some(&good)));
        assert!(!verify("s3cret", b"{}", Some(&good)));
        assert!(!verify(
            "s3cret",
            body,
            Some(good.trim_start_matches("sha256="))
        ));
        assert!(!verify("s3cret", body, Some("sha256=zz")));
        assert!(!verify("s3cret", body, None));
    }
}
