//! The system's configuration: embedded defaults (`config/default.toml`), then an optional
//! file, then `MCF_*` environment variables.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use hiring::HiringConfig;
use iam::IamConfig;
use mail::MailConfig;
use matching::MatchingConfig;
use messaging::MessagingConfig;
use ordering::OrderingConfig;
use serde::{Deserialize, Serialize};

/// `config/default.toml`, compiled in: `mcf config default` prints it.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub embedded: EmbeddedConfig,
    pub databases: Databases,
    pub nats: NatsConfig,
    pub log: LogConfig,
    pub messaging: MessagingConfig,
    pub auth: AuthConfig,
    pub iam: IamConfig,
    pub mail: MailConfig,
    pub hiring: HiringConfig,
    pub ordering: OrderingConfig,
    pub matching: MatchingConfig,
    pub clock: ClockConfig,
}

/// Business time (`[clock]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockConfig {
    /// Lets an admin move business time forward (`POST /api/ordering/ops/clock`), for
    /// tests and rehearsals of deadlines. Never in production.
    pub adjustable: bool,
}

/// How services verify access tokens (`[auth]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// IAM's public base URL, the tokens' `iss`. Empty: this process's own listener
    /// (`http://ADDR/api/iam`), right when IAM runs in the same process.
    pub issuer: String,
    /// Where IAM's keys are fetched. Empty: `<issuer>/jwks.json`.
    pub jwks_url: String,
    /// Fastest refetch of the keys for an unknown key id, seconds.
    pub jwks_min_refetch_s: u64,
    /// Clock skew tolerated on token times, seconds.
    pub leeway_s: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedConfig {
    pub data_dir: PathBuf,
}

/// PostgreSQL URL per service (distributed mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Databases {
    pub iam: String,
    pub mail: String,
    pub hiring: String,
    pub ordering: String,
    pub matching: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsConfig {
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: String,
    pub level: String,
}

impl Config {
    /// Defaults, then `file` (if any), then the environment. Errors name the failing key.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            if !path.exists() {
                anyhow::bail!("config file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("MCF_").split("__"));
        let config: Config = figment
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    /// The compiled-in defaults alone.
    pub fn defaults() -> Config {
        Figment::from(Toml::string(DEFAULT_TOML))
            .extract()
            .expect("config/default.toml is valid")
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.http.listen.parse::<std::net::SocketAddr>().is_err() {
            anyhow::bail!(
                "http.listen: {:?} is not an address like 127.0.0.1:8080",
                self.http.listen
            );
        }
        if !matches!(self.log.format.as_str(), "pretty" | "json") {
            anyhow::bail!("log.format: must be \"pretty\" or \"json\"");
        }
        if self.messaging.max_deliver < 1 {
            anyhow::bail!("messaging.max_deliver: must be at least 1");
        }
        if self.messaging.relay_batch < 1 {
            anyhow::bail!("messaging.relay_batch: must be at least 1");
        }
        matching::Pipeline::from_config(&self.matching)?;
        self.ordering.validate()?;
        Ok(())
    }

    /// This configuration with passwords in URLs replaced by `***`, fit to print or log.
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        c.databases.iam = redact_url(&c.databases.iam);
        c.databases.mail = redact_url(&c.databases.mail);
        c.databases.hiring = redact_url(&c.databases.hiring);
        c.mail.smtp_url = redact_url(&c.mail.smtp_url);
        c.databases.ordering = redact_url(&c.databases.ordering);
        c.iam.bootstrap_admin_password = if c.iam.bootstrap_admin_password.is_empty() {
            String::new()
        } else {
            "***".into()
        };
        c.databases.matching = redact_url(&c.databases.matching);
        c.nats.url = redact_url(&c.nats.url);
        c
    }

    /// The PostgreSQL URL of `service`, or an error naming the key to set.
    pub fn database_url(&self, service: &str) -> anyhow::Result<&str> {
        let url = match service {
            "iam" => &self.databases.iam,
            "mail" => &self.databases.mail,
            "hiring" => &self.databases.hiring,
            "ordering" => &self.databases.ordering,
            "matching" => &self.databases.matching,
            other => anyhow::bail!("unknown service {other:?}"),
        };
        if url.is_empty() {
            anyhow::bail!(
                "databases.{service} is not set (env MCF_DATABASES__{}): distributed mode needs a \
                 PostgreSQL URL per service",
                service.to_ascii_uppercase()
            );
        }
        Ok(url)
    }
}

/// `scheme://user:secret@host/...` -> `scheme://user:***@host/...`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("postgres://mcf:s3cret@db:5432/o"),
            "postgres://mcf:***@db:5432/o"
        );
        assert_eq!(redact_url("postgres://mcf@db/o"), "postgres://mcf@db/o");
        assert_eq!(redact_url("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
    }

    #[test]
    fn the_default_file_is_complete_and_matches_the_code_defaults() {
        let config = Config::defaults();
        assert_eq!(config.messaging, MessagingConfig::default());
        assert_eq!(config.matching, MatchingConfig::default());
        assert_eq!(config.iam, IamConfig::default());
        assert_eq!(config.mail, MailConfig::default());
        assert_eq!(config.hiring, HiringConfig::default());
        assert_eq!(config.ordering, OrderingConfig::default());
        assert!(!config.clock.adjustable);
        config.validate().unwrap();
    }
}
