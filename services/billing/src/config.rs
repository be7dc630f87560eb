//! The `[billing]` config section (`config.toml` beside `Cargo.toml` holds its defaults).

use std::time::Duration;

use contracts::Money;
use serde::{Deserialize, Serialize};

use crate::domain::{LoyaltyTable, Retry, Zone};

/// The `[billing]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BillingConfig {
    /// The billing calendar's zone: `UTC` or a fixed offset (`+03:00`).
    pub week_time_zone: String,
    /// No loyalty discount up to this total paid (minor units)...
    pub loyalty_first_step: i64,
    /// ...one more percent above each further step of this size...
    pub loyalty_step: i64,
    /// ...starting at this percent above the first step...
    pub loyalty_first_percent: i64,
    /// ...and never more than this.
    pub loyalty_max_percent: i64,
    /// A worker's share of a completed order's price (percent).
    pub worker_share_percent: i64,
    /// A worker at fault for a failed order is charged this (minor units).
    pub failure_penalty: i64,
    /// The largest single award (minor units).
    pub max_award: i64,
    /// The bank ("Gold Hat") invoices are collected and paid out through.
    pub bank_url: String,
    /// Each call to the bank gives up after this long (ms).
    pub bank_timeout_ms: u64,
    /// Attempts per call (timeouts, 5xx and lost connections are retried, same key).
    pub bank_attempts: u32,
    /// The first pause between attempts (ms, doubling).
    pub bank_backoff_ms: u64,
    /// Failed calls in a row that open the bank's circuit breaker.
    pub bank_breaker_failures: u32,
    /// How long the breaker stays open before a trial call (ms).
    pub bank_breaker_cool_down_ms: u64,
    /// How often the cycles look for ended periods and invoices due at the bank (ms).
    pub cycle_every_ms: u64,
    /// After a failed attempt, an invoice is tried again after this long (ms), doubling...
    pub retry_initial_ms: u64,
    /// ...up to this (ms).
    pub retry_max_ms: u64,
    /// An attempt at the bank holds its invoice this long (ms) so another replica does not
    /// make the same attempt meanwhile.
    pub bank_lease_ms: u64,
}

impl Default for BillingConfig {
    fn default() -> Self {
        BillingConfig {
            week_time_zone: "UTC".into(),
            loyalty_first_step: 10_000,
            loyalty_step: 10_000,
            loyalty_first_percent: 5,
            loyalty_max_percent: 12,
            worker_share_percent: 60,
            failure_penalty: 40,
            max_award: 10_000_000,
            bank_url: "http://127.0.0.1:8091".into(),
            bank_timeout_ms: 5_000,
            bank_attempts: 3,
            bank_backoff_ms: 200,
            bank_breaker_failures: 5,
            bank_breaker_cool_down_ms: 30_000,
            cycle_every_ms: 60_000,
            retry_initial_ms: 3_600_000,
            retry_max_ms: 86_400_000,
            bank_lease_ms: 60_000,
        }
    }
}

impl service::Section for BillingConfig {
    fn validate(&self) -> anyhow::Result<()> {
        self.zone()?;
        let bounds = [
            (
                "loyalty_first_step",
                self.loyalty_first_step,
                1,
                1_000_000_000_000,
            ),
            ("loyalty_step", self.loyalty_step, 1, 1_000_000_000_000),
            ("loyalty_first_percent", self.loyalty_first_percent, 0, 100),
            ("loyalty_max_percent", self.loyalty_max_percent, 0, 100),
            ("worker_share_percent", self.worker_share_percent, 0, 100),
            ("failure_penalty", self.failure_penalty, 0, 1_000_000_000),
            ("max_award", self.max_award, 1, 1_000_000_000_000),
        ];
        for (key, value, min, max) in bounds {
            if !(min..=max).contains(&value) {
                anyhow::bail!("billing.{key}: must be {min} to {max}");
            }
        }
        let url = self.bank_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            anyhow::bail!("billing.bank_url: must be an http:// or https:// URL");
        }
        let durations = [
            ("bank_timeout_ms", self.bank_timeout_ms, 1, 600_000),
            ("bank_backoff_ms", self.bank_backoff_ms, 0, 600_000),
            (
                "bank_breaker_cool_down_ms",
                self.bank_breaker_cool_down_ms,
                0,
                86_400_000,
            ),
            ("cycle_every_ms", self.cycle_every_ms, 10, 86_400_000),
            (
                "retry_initial_ms",
                self.retry_initial_ms,
                1,
                86_400_000 * 30,
            ),
            ("retry_max_ms", self.retry_max_ms, 1, 86_400_000 * 30),
            ("bank_lease_ms", self.bank_lease_ms, 1, 86_400_000),
        ];
        for (key, value, min, max) in durations {
            if !(min..=max).contains(&value) {
                anyhow::bail!("billing.{key}: must be {min} to {max}");
            }
        }
        for (key, value) in [
            ("bank_attempts", self.bank_attempts),
            ("bank_breaker_failures", self.bank_breaker_failures),
        ] {
            if !(1..=100).contains(&value) {
                anyhow::bail!("billing.{key}: must be 1 to 100");
            }
        }
        if self.retry_max_ms < self.retry_initial_ms {
            anyhow::bail!("billing.retry_max_ms: must not be below retry_initial_ms");
        }
        if self.loyalty_max_percent < self.loyalty_first_percent {
            anyhow::bail!("billing.loyalty_max_percent: must not be below loyalty_first_percent");
        }
        Ok(())
    }
}

impl BillingConfig {
    /// The billing calendar's zone, or why `week_time_zone` is not one.
    pub fn zone(&self) -> anyhow::Result<Zone> {
        Zone::parse(&self.week_time_zone)
            .map_err(|e| anyhow::anyhow!("billing.week_time_zone: {e}"))
    }

    /// How a failed invoice is tried again at the bank.
    pub fn retry(&self) -> Retry {
        Retry {
            initial: Duration::from_millis(self.retry_initial_ms),
            max: Duration::from_millis(self.retry_max_ms),
        }
    }

    /// The loyalty discount table the section describes.
    pub fn loyalty(&self) -> LoyaltyTable {
        LoyaltyTable {
            first_step: Money::from_minor(self.loyalty_first_step),
            step: Money::from_minor(self.loyalty_step),
            first_percent: self.loyalty_first_percent,
            max_percent: self.loyalty_max_percent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_shipped_section_then_it_parses_to_the_defaults() {
        let toml: toml::Table = toml::from_str(include_str!("../config.toml")).unwrap();
        let section = serde_json::to_value(&toml["billing"]).unwrap();
        let config = service::parse_section::<BillingConfig>(&section).unwrap();
        assert_eq!(config, BillingConfig::default());
    }

    #[test]
    fn given_a_bad_setting_then_the_section_is_refused_naming_the_key() {
        for (section, key) in [
            (
                serde_json::json!({"week_time_zone": "Mars/Olympus"}),
                "week_time_zone",
            ),
            (
                serde_json::json!({"week_time_zone": "+25:00"}),
                "week_time_zone",
            ),
            (serde_json::json!({"loyalty_step": 0}), "loyalty_step"),
            (serde_json::json!({"bank_url": "ftp://bank"}), "bank_url"),
            (serde_json::json!({"bank_attempts": 0}), "bank_attempts"),
            (serde_json::json!({"cycle_every_ms": 0}), "cycle_every_ms"),
            (
                serde_json::json!({"retry_initial_ms": 10, "retry_max_ms": 5}),
                "retry_max_ms",
            ),
            (
                serde_json::json!({"worker_share_percent": 101}),
                "worker_share_percent",
            ),
            (
                serde_json::json!({"failure_penalty": -1}),
                "failure_penalty",
            ),
            (
                serde_json::json!({"loyalty_first_percent": 9, "loyalty_max_percent": 8}),
                "loyalty_max_percent",
            ),
        ] {
            let e = service::parse_section::<BillingConfig>(&section).unwrap_err();
            assert!(e.message.starts_with(&format!("billing.{key}:")), "{e:?}");
        }
    }
}
