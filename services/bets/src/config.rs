//! The `[bets]` config section (`config.toml` beside `Cargo.toml` holds its defaults).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The `[bets]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BetsConfig {
    /// The largest single stake (minor units).
    pub max_stake: i64,
    /// One attempt of a call to Ordering or Billing may take this long (ms).
    pub call_timeout_ms: u64,
    /// Attempts per call (no answer and 5xx are tried again with the same key).
    pub call_attempts: u32,
    /// The pause after the first failed attempt (ms), doubling after each.
    pub call_backoff_ms: u64,
    /// How often the sweep looks for pending stakes and settling bets (ms).
    pub sweep_every_ms: u64,
    /// A stake pending this long is resolved by the sweep (ms).
    pub resolve_pending_after_ms: u64,
}

impl Default for BetsConfig {
    fn default() -> Self {
        BetsConfig {
            max_stake: 100_000_000,
            call_timeout_ms: 5000,
            call_attempts: 3,
            call_backoff_ms: 200,
            sweep_every_ms: 5000,
            resolve_pending_after_ms: 10_000,
        }
    }
}

/// The most a stake may be configured to: far beyond any manager's pocket, far below
/// where sums of a few thousand stakes could overflow.
const MAX_STAKE_LIMIT: i64 = 1_000_000_000_000;

impl service::Section for BetsConfig {
    fn validate(&self) -> anyhow::Result<()> {
        service::within("bets", "max_stake", self.max_stake, 1, MAX_STAKE_LIMIT)?;
        let ms = [
            ("call_timeout_ms", self.call_timeout_ms, 1, 600_000),
            ("call_backoff_ms", self.call_backoff_ms, 0, 60_000),
            ("sweep_every_ms", self.sweep_every_ms, 10, 3_600_000),
            (
                "resolve_pending_after_ms",
                self.resolve_pending_after_ms,
                0,
                86_400_000,
            ),
        ];
        for (key, value, min, max) in ms {
            service::within("bets", key, value, min, max)?;
        }
        service::within("bets", "call_attempts", self.call_attempts, 1, 10)
    }
}

impl BetsConfig {
    /// The limit of one attempt of a call.
    pub fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.call_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_shipped_section_then_it_parses_to_the_defaults() {
        let toml: toml::Table = toml::from_str(include_str!("../config.toml")).unwrap();
        let section = serde_json::to_value(&toml["bets"]).unwrap();
        let config = service::parse_section::<BetsConfig>(&section).unwrap();
        assert_eq!(config, BetsConfig::default());
    }

    #[test]
    fn given_a_bad_setting_then_the_section_is_refused_naming_the_key() {
        for (section, key) in [
            (serde_json::json!({"max_stake": 0}), "max_stake"),
            (serde_json::json!({"call_timeout_ms": 0}), "call_timeout_ms"),
            (serde_json::json!({"call_attempts": 11}), "call_attempts"),
            (serde_json::json!({"sweep_every_ms": 1}), "sweep_every_ms"),
        ] {
            let e = service::parse_section::<BetsConfig>(&section).unwrap_err();
            assert!(e.message.starts_with(&format!("bets.{key}:")), "{e:?}");
        }
    }
}
