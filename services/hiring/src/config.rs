//! The `[hiring]` config section.

use serde::{Deserialize, Serialize};

/// The `[hiring]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HiringConfig {
    /// How long a candidate's private test link works (hours).
    pub link_ttl_hours: i64,
    /// Hiring's public base URL for the links it mails (…/api/hiring). Empty: this
    /// process's own listener.
    pub public_url: String,
    /// Flood protection of the public endpoints (apply, take).
    pub public_limits: web::limits::PublicLimits,
}

impl Default for HiringConfig {
    fn default() -> Self {
        HiringConfig {
            link_ttl_hours: 168,
            public_url: String::new(),
            public_limits: web::limits::PublicLimits::default(),
        }
    }
}

impl service::Section for HiringConfig {
    fn validate(&self) -> anyhow::Result<()> {
        // Added to "now" when a link is made: bounded far from overflow.
        if !(1..=366 * 24).contains(&self.link_ttl_hours) {
            anyhow::bail!("hiring.link_ttl_hours: must be 1 to 8784 (a year)");
        }
        Ok(())
    }
}
