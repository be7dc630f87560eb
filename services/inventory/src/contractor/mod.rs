//! The fortune-cookie contractor, as Inventory calls it (I/O at the edge): one order per
//! kit, `POST {url}/cookies` with the kit id as `Idempotency-Key`, so a retry, or an order
//! repeated after a crash between the call and recording its answer, bakes nothing new.
//! Each attempt has a timeout; timeouts, 5xx and lost connections are retried with
//! exponential backoff; a refusal (4xx) is not; a breaker stops the calls while the
//! contractor keeps failing (all of it the shared [`partner::Partner`]). The contractor
//! calls back, signing the body with HMAC-SHA256 under the shared secret
//! ([`Contractor::verify`]); [`Contractor::check`] asks it for a cookie whose callback never
//! came.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub use partner::{BreakerState, BreakerView, CallError};

use crate::config::InventoryConfig;

/// The header carrying a callback's signature: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "x-cookie-signature";

/// What the contractor needs to bake for a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CookieOrder {
    pub client_name: String,
    pub client_email: String,
    pub order_id: String,
    /// Where the contractor calls back once the cookie is delivered.
    pub callback_url: String,
}

/// The contractor's word on a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
// The callback route's body names it so in the OpenAPI document (as before this type
// served both the client and the route).
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

/// The contractor's client: its URL, secret, timeouts, retries and breaker.
pub struct Contractor {
    partner: partner::Partner,
    url: String,
    secret: String,
}

impl Contractor {
    /// The client `config` describes.
    pub fn new(config: &InventoryConfig) -> anyhow::Result<Contractor> {
        let settings = partner::Settings {
            timeout: Duration::from_millis(config.contractor_timeout_ms),
            attempts: config.contractor_attempts,
            backoff: Duration::from_millis(config.contractor_backoff_ms),
            breaker_failures: config.contractor_breaker_failures,
            breaker_cool_down: Duration::from_millis(config.contractor_breaker_cool_down_ms),
        };
        Ok(Contractor {
            partner: partner::Partner::new("cookie contractor", &settings)?,
            url: config.contractor_url.trim_end_matches('/').to_owned(),
            secret: config.contractor_secret.clone(),
        })
    }

    /// The breaker as admins see it now.
    pub fn breaker_view(&self) -> BreakerView {
        self.partner.breaker_view()
    }

    /// Orders the cookie of kit `key` for `order`.
    pub async fn order(&self, key: &str, order: &CookieOrder) -> Result<Taken, CallError> {
        let url = format!("{}/cookies", self.url);
        self.partner
            .call(|| {
                self.partner
                    .http()
                    .post(&url)
                    .header("Idempotency-Key", key)
                    .json(order)
            })
            .await
    }

    /// Asks the contractor about cookie `contractor_id`.
    pub async fn check(&self, contractor_id: &str) -> Result<Delivery, CallError> {
        let url = format!("{}/cookies/{contractor_id}", self.url);
        self.partner.call(|| self.partner.http().get(&url)).await
    }

    /// Calls off the cookie ordered under kit `key`: `Ok(true)` when the contractor had
    /// delivered it first, `Ok(false)` when it is called off (or nothing was baked under the
    /// key).
    pub async fn cancel(&self, key: &str) -> Result<bool, CallError> {
        let url = format!("{}/cookies/by-key/{key}", self.url);
        match self
            .partner
            .call::<serde_json::Value, _>(|| self.partner.http().delete(&url))
            .await
        {
            Ok(_) | Err(CallError::Refused { status: 404, .. }) => Ok(false),
            Err(CallError::Refused { status: 409, .. }) => Ok(true),
            Err(e) => Err(e),
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
