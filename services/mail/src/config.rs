//! The `[mail]` config section.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The `[mail]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// The From header.
    pub from: String,
    /// `smtp://host:port` (plain), `smtp://host:port?tls=required` or `smtps://host:port`.
    /// Empty: messages are written as .eml files to `file_dir`.
    pub smtp_url: String,
    /// Where .eml files go without SMTP. Empty: `<embedded.data_dir>/mail`.
    pub file_dir: PathBuf,
    /// Attempts before a message is dead.
    pub max_attempts: i64,
    /// First retry delay (ms), doubling up to `backoff_max_ms`.
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
    /// How long one SMTP delivery may take (s).
    pub smtp_timeout_s: u64,
}

impl service::Section for MailConfig {}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            from: "MCF <no-reply@mcf.local>".into(),
            smtp_url: String::new(),
            file_dir: PathBuf::new(),
            max_attempts: 8,
            backoff_initial_ms: 1000,
            backoff_max_ms: 300_000,
            smtp_timeout_s: 10,
        }
    }
}
