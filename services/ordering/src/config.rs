//! The `[ordering]` config section (`config.toml` beside `Cargo.toml` holds its defaults).

use serde::{Deserialize, Serialize};

use crate::domain::order::Policy;

/// The `[ordering]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrderingConfig {
    /// How long before the scheduled time a worker may check in (minutes).
    pub check_in_early_minutes: i64,
    /// How long after the scheduled time check-in stays open; then the order fails as a
    /// no-show (minutes).
    pub no_show_grace_minutes: i64,
    /// How often each replica looks for overdue orders (ms).
    pub no_show_sweep_ms: u64,
    /// Largest check-in or report photo accepted (bytes, before base64).
    pub photo_max_bytes: usize,
    /// Where photos are kept: empty = `<data dir>/objects/ordering`; a directory path;
    /// `s3://bucket?endpoint=...&region=...` for an S3-compatible store.
    pub objects_url: String,
    /// Ordering's public base URL for the links it mails (…/api/ordering). Empty: this
    /// process's own listener.
    pub public_url: String,
}

impl Default for OrderingConfig {
    fn default() -> Self {
        OrderingConfig {
            check_in_early_minutes: 30,
            no_show_grace_minutes: 30,
            no_show_sweep_ms: 1000,
            photo_max_bytes: 512 * 1024,
            objects_url: String::new(),
            public_url: String::new(),
        }
    }
}

impl service::Section for OrderingConfig {
    fn validate(&self) -> anyhow::Result<()> {
        if !(0..=24 * 60).contains(&self.check_in_early_minutes) {
            anyhow::bail!("ordering.check_in_early_minutes: must be 0 to 1440");
        }
        if !(0..=24 * 60).contains(&self.no_show_grace_minutes) {
            anyhow::bail!("ordering.no_show_grace_minutes: must be 0 to 1440");
        }
        if self.no_show_sweep_ms == 0 {
            anyhow::bail!("ordering.no_show_sweep_ms: must be positive");
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.photo_max_bytes) {
            anyhow::bail!("ordering.photo_max_bytes: must be 1 KiB to 16 MiB");
        }
        Ok(())
    }
}

impl OrderingConfig {
    /// The lifecycle's time rules.
    pub fn policy(&self) -> Policy {
        Policy {
            check_in_early: chrono::Duration::minutes(self.check_in_early_minutes),
            grace: chrono::Duration::minutes(self.no_show_grace_minutes),
        }
    }
}
