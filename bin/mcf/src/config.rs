//! The system's configuration: embedded defaults (`config/default.toml`), then an optional
//! file, then `MCF_*` environment variables (`MCF_<SECTION>__<KEY>`, e.g.
//! `MCF_ORDERING__NO_SHOW_GRACE_MINUTES`), except the few `MCF_*` variables that are not
//! configuration ([`NOT_CONFIGURATION`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::error::Kind;
use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;
use hiring::HiringConfig;
use iam::IamConfig;
use mail::MailConfig;
use matching::MatchingConfig;
use messaging::MessagingConfig;
use ordering::OrderingConfig;
use serde::{Deserialize, Serialize};

/// `MCF_*` variables that are not configuration keys, so loading ignores them: the CLI's own
/// (`--config`, `mcf login --password`) and the test tools' (where `nats-server`, `initdb` and
/// the S3 test server are). Every other `MCF_*` variable must name a configuration key.
pub const NOT_CONFIGURATION: &[&str] = &[
    "MCF_CONFIG",
    "MCF_PASSWORD",
    "MCF_NATS_SERVER",
    "MCF_PG_INITDB",
    "MCF_MOTO_SERVER",
];

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

/// PostgreSQL URL per service (distributed mode), keyed by the service's name as
/// registered (`[databases] iam = "..."`, env `MCF_DATABASES__IAM`); keys that name no
/// service are refused when the configuration is loaded.
pub type Databases = BTreeMap<String, String>;

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
        // Names or values that are not Unicode cannot be configuration; they are left alone
        // (a non-Unicode `MCF_*` name is never a key we know, and would fail below anyway).
        let vars = std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        });
        Config::load_from(file, vars)
    }

    /// [`Config::load`] with the environment given as `vars` (every variable; those not
    /// starting with `MCF_` are ignored).
    pub fn load_from(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            if !path.exists() {
                anyhow::bail!("config file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        // The variable each key came from, to name it in errors.
        let mut from_env = Vec::new();
        for (name, value) in vars {
            let Some(key) = configuration_key(&name)? else {
                continue;
            };
            // Parsed as figment's own `Env` provider does: `true`, `42`, `[a, b]`, strings.
            let value: Value = value.parse().unwrap_or_else(|e| match e {});
            figment = figment.merge(Serialized::default(&key, value));
            from_env.push((key, name));
        }
        let config: Config = figment
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {}", describe(e, &from_env)))?;
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
        if let Some(unknown) = self
            .databases
            .keys()
            .find(|k| !crate::system::SERVICES.contains(&k.as_str()))
        {
            anyhow::bail!(
                "databases.{unknown}: no such service (known: {})",
                crate::system::SERVICES.join(", ")
            );
        }
        if self.messaging.max_deliver < 1 {
            anyhow::bail!("messaging.max_deliver: must be at least 1");
        }
        if self.messaging.relay_batch < 1 {
            anyhow::bail!("messaging.relay_batch: must be at least 1");
        }
        // Lifetimes are added to "now" in microseconds or seconds: bounding them keeps that
        // arithmetic far from overflow and the values sane.
        if !(1..=24 * 3600).contains(&self.iam.access_token_ttl_s) {
            anyhow::bail!("iam.access_token_ttl_s: must be 1 to 86400 (a day)");
        }
        if !(1..=366 * 24 * 3600).contains(&self.iam.refresh_token_ttl_s) {
            anyhow::bail!("iam.refresh_token_ttl_s: must be 1 to 31622400 (a year)");
        }
        if !(1..=3600).contains(&self.iam.code_ttl_s) {
            anyhow::bail!("iam.code_ttl_s: must be 1 to 3600");
        }
        if !(1..=366 * 24).contains(&self.hiring.link_ttl_hours) {
            anyhow::bail!("hiring.link_ttl_hours: must be 1 to 8784 (a year)");
        }
        matching::Pipeline::from_config(&self.matching)?;
        self.ordering.validate()?;
        Ok(())
    }

    /// This configuration with passwords in URLs replaced by `***`, fit to print or log.
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        for url in c.databases.values_mut() {
            *url = redact_url(url);
        }
        c.mail.smtp_url = redact_url(&c.mail.smtp_url);
        c.iam.bootstrap_admin_password = if c.iam.bootstrap_admin_password.is_empty() {
            String::new()
        } else {
            "***".into()
        };
        c.nats.url = redact_url(&c.nats.url);
        c
    }

    /// The PostgreSQL URL of `service`, or an error naming the key to set.
    pub fn database_url(&self, service: &str) -> anyhow::Result<&str> {
        crate::system::spec(service)?;
        let url = self.databases.get(service).map_or("", String::as_str);
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

/// The dotted configuration key an environment variable sets (`MCF_ORDERING__NOPE` ->
/// `ordering.nope`); `None` for variables that are not configuration.
fn configuration_key(name: &str) -> anyhow::Result<Option<String>> {
    let Some(rest) = name.strip_prefix("MCF_") else {
        return Ok(None);
    };
    if NOT_CONFIGURATION.contains(&name) {
        return Ok(None);
    }
    let key = rest.trim().to_ascii_lowercase().replace("__", ".");
    if key.split('.').any(str::is_empty) {
        anyhow::bail!(
            "invalid configuration: environment variable {name} does not name a key (use \
             MCF_<SECTION>__<KEY>, e.g. MCF_HTTP__LISTEN)"
        );
    }
    Ok(Some(key))
}

/// figment's errors, with unknown keys named in full (`ordering.nope`, and the variable that
/// set it) rather than as the bare field figment reports.
fn describe(error: figment::Error, from_env: &[(String, String)]) -> String {
    error
        .into_iter()
        .map(|e| match &e.kind {
            Kind::UnknownField(field, expected) => {
                // figment's path usually ends with the field already; not always.
                let mut path = e.path.clone();
                if path.last() != Some(field) {
                    path.push(field.clone());
                }
                let key = path.join(".");
                let origin = from_env
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, var)| format!(" (set by the environment variable {var})"))
                    .unwrap_or_default();
                format!(
                    "unknown configuration key `{key}`{origin}; known here: {}",
                    expected.join(", ")
                )
            }
            _ => e.to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
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

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_cli_and_tool_variables_are_not_configuration() {
        let config = Config::load_from(
            None,
            vars(&[
                ("MCF_CONFIG", "/nowhere.toml"),
                ("MCF_PASSWORD", "secret"),
                ("MCF_NATS_SERVER", "/usr/bin/nats-server"),
                ("PATH", "/usr/bin"),
                ("MCF_ORDERING__NO_SHOW_GRACE_MINUTES", "45"),
                ("MCF_CLOCK__ADJUSTABLE", "true"),
                ("MCF_IAM__WEB_REDIRECT_URIS", "[http://a/cb, http://b/cb]"),
            ]),
        )
        .unwrap();
        assert_eq!(config.ordering.no_show_grace_minutes, 45);
        assert!(config.clock.adjustable);
        assert_eq!(config.iam.web_redirect_uris, ["http://a/cb", "http://b/cb"]);
    }

    #[test]
    fn an_unknown_key_is_refused_naming_it_and_its_variable() {
        let e = Config::load_from(None, vars(&[("MCF_ORDERING__NOPE", "1")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`ordering.nope`"), "{e}");
        assert!(e.contains("MCF_ORDERING__NOPE"), "{e}");
        let e = Config::load_from(None, vars(&[("MCF_NOPE", "1")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`nope`") && e.contains("MCF_NOPE"), "{e}");
        let e = Config::load_from(None, vars(&[("MCF_ORDERING____X", "1")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("MCF_ORDERING____X"), "{e}");
    }

    #[test]
    fn databases_are_keyed_by_registered_service_name() {
        let config = Config::load_from(
            None,
            vars(&[("MCF_DATABASES__IAM", "postgres://mcf:s3cret@db/iam")]),
        )
        .unwrap();
        assert_eq!(
            config.database_url("iam").unwrap(),
            "postgres://mcf:s3cret@db/iam"
        );
        assert_eq!(
            config.redacted().databases["iam"],
            "postgres://mcf:***@db/iam"
        );
        // Every registered service has its key in the defaults, empty: named when missing.
        for service in crate::system::SERVICES {
            assert_eq!(Config::defaults().databases[*service], "");
        }
        let e = config.database_url("ordering").unwrap_err().to_string();
        assert!(e.contains("MCF_DATABASES__ORDERING"), "{e}");
        let e = config.database_url("nope").unwrap_err().to_string();
        assert!(e.contains("unknown service"), "{e}");
        let e = Config::load_from(None, vars(&[("MCF_DATABASES__NOPE", "postgres://x")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("databases.nope"), "{e}");
    }

    #[test]
    fn lifetimes_that_could_overflow_are_refused() {
        for (var, key) in [
            ("MCF_HIRING__LINK_TTL_HOURS", "hiring.link_ttl_hours"),
            ("MCF_IAM__ACCESS_TOKEN_TTL_S", "iam.access_token_ttl_s"),
            ("MCF_IAM__REFRESH_TOKEN_TTL_S", "iam.refresh_token_ttl_s"),
            ("MCF_IAM__CODE_TTL_S", "iam.code_ttl_s"),
        ] {
            let e = Config::load_from(None, vars(&[(var, "9223372036854775807")]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{e}");
        }
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
