//! The `[inventory]` config section (`config.toml` beside `Cargo.toml` holds its defaults).

use serde::{Deserialize, Serialize};

use crate::domain::stock::MAX_QUANTITY;

/// The `[inventory]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InventoryConfig {
    /// The low-stock mark a new consumable gets when its creator names none.
    pub default_low_stock_threshold: i64,
    /// The fortune-cookie contractor's base URL.
    pub contractor_url: String,
    /// Shared with the contractor: its callbacks are signed with it.
    pub contractor_secret: String,
    /// One attempt of a call to the contractor may take this long (ms).
    pub contractor_timeout_ms: u64,
    /// Attempts per call (timeouts, 5xx and lost connections are tried again).
    pub contractor_attempts: u32,
    /// The pause after the first failed attempt (ms), doubling after each.
    pub contractor_backoff_ms: u64,
    /// Failed attempts in a row that open the circuit breaker.
    pub contractor_breaker_failures: u32,
    /// How long the breaker stays open before a trial call (ms).
    pub contractor_breaker_cool_down_ms: u64,
    /// Inventory's public base URL (`https://host/api/inventory`) for the links it mails
    /// (a kit, its form, the stock list) and the contractor's callback; empty: this
    /// process's own listener. The binary reads it into the service's context.
    pub public_url: String,
    /// Where the contractor calls back; empty: Inventory's URL + `/cookies/callback`.
    pub callback_url: String,
    /// A cookie without a callback this long after its order is asked about (ms).
    pub cookie_check_after_ms: u64,
    /// ...and asked again this often while on its way (ms).
    pub cookie_check_every_ms: u64,
    /// How often the cookie job looks for work (ms).
    pub cookie_job_every_ms: u64,
}

impl Default for InventoryConfig {
    fn default() -> Self {
        InventoryConfig {
            default_low_stock_threshold: 10,
            contractor_url: "http://127.0.0.1:8090".into(),
            contractor_secret: "sandbox-cookie-secret".into(),
            contractor_timeout_ms: 5000,
            contractor_attempts: 4,
            contractor_backoff_ms: 200,
            contractor_breaker_failures: 5,
            contractor_breaker_cool_down_ms: 30_000,
            public_url: String::new(),
            callback_url: String::new(),
            cookie_check_after_ms: 900_000,
            cookie_check_every_ms: 300_000,
            cookie_job_every_ms: 1000,
        }
    }
}

impl service::Section for InventoryConfig {
    fn validate(&self) -> anyhow::Result<()> {
        // The same bounds a consumable's own mark has.
        service::within(
            "inventory",
            "default_low_stock_threshold",
            self.default_low_stock_threshold,
            0,
            MAX_QUANTITY,
        )?;
        self.validate_contractor()
    }
}

/// An `http://` or `https://` URL with a host.
fn web_url(url: &str) -> bool {
    reqwest::Url::parse(url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

impl InventoryConfig {
    fn validate_contractor(&self) -> anyhow::Result<()> {
        if !web_url(&self.contractor_url) {
            anyhow::bail!("inventory.contractor_url: must be an http:// or https:// URL");
        }
        if self.contractor_secret.len() < 16 {
            anyhow::bail!("inventory.contractor_secret: must be at least 16 characters");
        }
        if !self.public_url.is_empty() && !web_url(&self.public_url) {
            anyhow::bail!("inventory.public_url: must be empty or an http(s) URL");
        }
        if !self.callback_url.is_empty() && !web_url(&self.callback_url) {
            anyhow::bail!("inventory.callback_url: must be empty or an http(s) URL");
        }
        let ms = [
            (
                "contractor_timeout_ms",
                self.contractor_timeout_ms,
                1,
                600_000,
            ),
            (
                "contractor_backoff_ms",
                self.contractor_backoff_ms,
                0,
                60_000,
            ),
            (
                "contractor_breaker_cool_down_ms",
                self.contractor_breaker_cool_down_ms,
                0,
                3_600_000,
            ),
            (
                "cookie_check_after_ms",
                self.cookie_check_after_ms,
                0,
                86_400_000,
            ),
            (
                "cookie_check_every_ms",
                self.cookie_check_every_ms,
                10,
                86_400_000,
            ),
            (
                "cookie_job_every_ms",
                self.cookie_job_every_ms,
                10,
                3_600_000,
            ),
        ];
        for (key, value, min, max) in ms {
            service::within("inventory", key, value, min, max)?;
        }
        service::within(
            "inventory",
            "contractor_attempts",
            self.contractor_attempts,
            1,
            10,
        )?;
        service::within(
            "inventory",
            "contractor_breaker_failures",
            self.contractor_breaker_failures,
            1,
            1000,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_shipped_section_then_it_parses_to_the_defaults() {
        let toml: toml::Table = toml::from_str(include_str!("../config.toml")).unwrap();
        let section = serde_json::to_value(&toml["inventory"]).unwrap();
        let config = service::parse_section::<InventoryConfig>(&section).unwrap();
        assert_eq!(config, InventoryConfig::default());
    }

    #[test]
    fn given_a_negative_mark_then_the_section_is_refused_naming_the_key() {
        let section = serde_json::json!({"default_low_stock_threshold": -1});
        let e = service::parse_section::<InventoryConfig>(&section).unwrap_err();
        assert!(
            e.message
                .starts_with("inventory.default_low_stock_threshold:"),
            "{e:?}"
        );
    }

    #[test]
    fn given_a_bad_contractor_setting_then_the_section_is_refused_naming_the_key() {
        for (section, key) in [
            (
                serde_json::json!({"contractor_url": "ftp://x"}),
                "contractor_url",
            ),
            (
                serde_json::json!({"contractor_secret": "short"}),
                "contractor_secret",
            ),
            (
                serde_json::json!({"callback_url": "nowhere"}),
                "callback_url",
            ),
            (
                serde_json::json!({"public_url": "ftp://x/api/inventory"}),
                "public_url",
            ),
            (
                serde_json::json!({"contractor_attempts": 0}),
                "contractor_attempts",
            ),
            (
                serde_json::json!({"contractor_timeout_ms": 0}),
                "contractor_timeout_ms",
            ),
            (
                serde_json::json!({"cookie_job_every_ms": 1}),
                "cookie_job_every_ms",
            ),
        ] {
            let e = service::parse_section::<InventoryConfig>(&section).unwrap_err();
            assert!(e.message.starts_with(&format!("inventory.{key}:")), "{e:?}");
        }
    }
}
