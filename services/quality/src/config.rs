//! The `[quality]` config section (`config.toml` beside `Cargo.toml` holds its defaults).

use serde::{Deserialize, Serialize};

/// The `[quality]` config section. Where Matching and Ordering are is the system's
/// `[peers]` setting, shared by every service that calls another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityConfig {
    /// Attempts per call to Matching or Ordering (no answer and 5xx are tried again).
    pub call_attempts: u32,
    /// The pause after the first failed attempt (ms), doubling after each.
    pub call_backoff_ms: u64,
    /// The most orders one random sample may draw.
    pub max_sample_size: i64,
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            call_attempts: 3,
            call_backoff_ms: 200,
            max_sample_size: 100,
        }
    }
}

impl service::Section for QualityConfig {
    fn validate(&self) -> anyhow::Result<()> {
        service::within("quality", "call_attempts", self.call_attempts, 1, 10)?;
        service::within(
            "quality",
            "call_backoff_ms",
            self.call_backoff_ms,
            0,
            60_000,
        )?;
        service::within("quality", "max_sample_size", self.max_sample_size, 1, 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_shipped_section_then_it_parses_to_the_defaults() {
        let toml: toml::Table = toml::from_str(include_str!("../config.toml")).unwrap();
        let section = serde_json::to_value(&toml["quality"]).unwrap();
        let config = service::parse_section::<QualityConfig>(&section).unwrap();
        assert_eq!(config, QualityConfig::default());
    }

    #[test]
    fn given_a_bad_setting_then_the_section_is_refused_naming_the_key() {
        for (section, key) in [
            (serde_json::json!({"call_attempts": 0}), "call_attempts"),
            (serde_json::json!({"call_attempts": 11}), "call_attempts"),
            (
                serde_json::json!({"call_backoff_ms": 60_001}),
                "call_backoff_ms",
            ),
            (serde_json::json!({"max_sample_size": 0}), "max_sample_size"),
            (
                serde_json::json!({"matching_url": "http://x"}),
                "matching_url",
            ),
        ] {
            let e = service::parse_section::<QualityConfig>(&section).unwrap_err();
            assert!(e.message.contains(key), "{e:?}");
        }
    }
}
