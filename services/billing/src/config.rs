//! The `[billing]` config section (`config.toml` beside `Cargo.toml` holds its defaults).

use contracts::Money;
use serde::{Deserialize, Serialize};

use crate::domain::{LoyaltyTable, Zone};

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
