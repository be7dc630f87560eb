//! The `[iam]` section (defaults and comments in `config.toml`).

use serde::{Deserialize, Serialize};

/// The `[iam]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IamConfig {
    /// Lifetime of access tokens, seconds.
    pub access_token_ttl_s: u64,
    /// Lifetime of refresh tokens, seconds.
    pub refresh_token_ttl_s: u64,
    /// Lifetime of authorization codes, seconds.
    pub code_ttl_s: u64,
    /// The first admin, created on first start when no admin exists.
    pub bootstrap_admin_email: String,
    /// Its password; empty: generated and printed once.
    pub bootstrap_admin_password: String,
    /// Password hashes computed at the same time (each takes ~19 MiB and one core).
    pub hash_concurrency: usize,
    /// Redirect URIs of the MCF web app client (`mcf-web`), matched exactly.
    pub web_redirect_uris: Vec<String>,
    /// Where logging out of `mcf-web` may send the browser back to, matched exactly.
    pub web_post_logout_redirect_uris: Vec<String>,
    /// How `mcf-web`'s ID tokens are signed: `RS256` (what OpenID Connect clients expect)
    /// or `EdDSA`. Access tokens are always EdDSA.
    pub web_id_token_alg: String,
    /// The upstream identity provider clients arrive from (Happy Cat Box).
    pub upstream: UpstreamConfig,
}

/// `[iam.upstream]`: an OpenID Connect provider IAM trusts for client sign-in. Its users
/// get a client account on first sign-in.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamConfig {
    /// The provider's issuer URL; empty disables federation.
    pub issuer: String,
    /// Our client id there (a public client: we use PKCE).
    pub client_id: String,
    /// Shown on the sign-in button.
    pub name: String,
}

impl Default for IamConfig {
    fn default() -> Self {
        IamConfig {
            access_token_ttl_s: 300,
            refresh_token_ttl_s: 30 * 24 * 3600,
            code_ttl_s: 60,
            bootstrap_admin_email: "admin@mcf.local".into(),
            bootstrap_admin_password: String::new(),
            hash_concurrency: 2,
            web_redirect_uris: vec!["http://127.0.0.1:8080/app/callback".into()],
            web_post_logout_redirect_uris: vec!["http://127.0.0.1:8080/app/".into()],
            web_id_token_alg: "RS256".into(),
            upstream: UpstreamConfig::default(),
        }
    }
}

impl service::Section for IamConfig {
    fn validate(&self) -> anyhow::Result<()> {
        // Lifetimes are added to "now" in microseconds or seconds: bounding them keeps that
        // arithmetic far from overflow and the values sane.
        if !(1..=24 * 3600).contains(&self.access_token_ttl_s) {
            anyhow::bail!("iam.access_token_ttl_s: must be 1 to 86400 (a day)");
        }
        if !(1..=366 * 24 * 3600).contains(&self.refresh_token_ttl_s) {
            anyhow::bail!("iam.refresh_token_ttl_s: must be 1 to 31622400 (a year)");
        }
        if !(1..=3600).contains(&self.code_ttl_s) {
            anyhow::bail!("iam.code_ttl_s: must be 1 to 3600");
        }
        Ok(())
    }
}
