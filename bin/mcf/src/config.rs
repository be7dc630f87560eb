//! The system's configuration: defaults (the core sections of `config/default.toml`, then
//! each registered service's own section from its crate), then an optional file, then
//! `MCF_*` environment variables (`MCF_<SECTION>__<KEY>`, e.g.
//! `MCF_ORDERING__NO_SHOW_GRACE_MINUTES`), except the few `MCF_*` variables that are not
//! configuration ([`NOT_CONFIGURATION`]).
//!
//! The binary types only the core sections (listener, databases, broker, log, messaging,
//! token verification, clock). A service's section is its own business: the registry's
//! [`service::SectionSpec`] gives its defaults and checks it, and the service parses it from
//! its `Context`. Adding a service therefore adds no field here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::error::Kind;
use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;
use messaging::MessagingConfig;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::system::{REGISTRY, SERVICES};

/// `MCF_*` variables that are not configuration keys, so loading ignores them: the CLI's own
/// (`--config`, `mcf login --password`, the operator commands' `--token`) and the test
/// tools' (where `nats-server`, `initdb` and the S3 test server are). Every other `MCF_*`
/// variable must name a configuration key.
pub const NOT_CONFIGURATION: &[&str] = &[
    "MCF_CONFIG",
    "MCF_PASSWORD",
    "MCF_TOKEN",
    "MCF_NATS_SERVER",
    "MCF_PG_INITDB",
    "MCF_MOTO_SERVER",
];

/// The core sections' defaults (`config/default.toml`), compiled in.
const CORE_TOML: &str = include_str!("../../../config/default.toml");

/// The sections the binary itself types; every other top-level key is a service's.
const CORE_SECTIONS: &[&str] = &[
    "http",
    "embedded",
    "databases",
    "nats",
    "peers",
    "log",
    "telemetry",
    "messaging",
    "auth",
    "clock",
];

/// Every key with its default, as `mcf config default` prints it: the core sections, with
/// one (empty) database key per registered service, then each service's own section.
pub fn default_toml() -> String {
    // One empty key per service in the sections keyed by service: before the next section.
    let keys: String = SERVICES.iter().map(|s| format!("{s} = \"\"\n")).collect();
    let mut text = CORE_TOML.to_owned();
    for next in ["\n[nats]", "\n[log]"] {
        if let Some((before, after)) = text.split_once(next) {
            text = format!("{before}\n{keys}{next}{after}");
        }
    }
    for spec in REGISTRY {
        if !spec.config.default_toml.is_empty() {
            text.push('\n');
            text.push_str(spec.config.default_toml);
        }
    }
    text
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    pub http: HttpConfig,
    pub embedded: EmbeddedConfig,
    pub databases: Databases,
    pub nats: NatsConfig,
    pub peers: Peers,
    pub log: LogConfig,
    pub telemetry: TelemetryConfig,
    pub messaging: MessagingConfig,
    pub auth: AuthConfig,
    pub clock: ClockConfig,
    /// Each registered service's section (`[<name>]`) as loaded, checked by its
    /// [`service::SectionSpec`]; read one with [`Config::section`], change one with
    /// [`Config::set`].
    #[serde(flatten)]
    pub services: BTreeMap<String, serde_json::Value>,
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
    /// The secret the system's processes share, from which each service's credentials at
    /// IAM are derived (`service::peers`). Empty: generated per data dir by `mcf up`, unset
    /// (so no service-to-service calls) in distributed mode.
    pub service_secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: String,
    /// The limit of one synchronous call to another service, ms.
    pub peer_timeout_ms: u64,
    /// The web portal's public base URL (`https://mcf.example`), for links mailed to
    /// people; empty: this process's listener (`mcf up` serves the portal there).
    pub portal_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedConfig {
    pub data_dir: PathBuf,
    /// The delivery delay of the sandbox cookie contractor `mcf up` runs itself (seconds).
    pub cookie_delay_s: u64,
}

/// PostgreSQL URL per service (distributed mode), keyed by the service's name as
/// registered (`[databases] iam = "..."`, env `MCF_DATABASES__IAM`); keys that name no
/// service are refused when the configuration is loaded.
pub type Databases = BTreeMap<String, String>;

/// Base URL per service for the others' synchronous calls (`[peers] ordering = "..."`, env
/// `MCF_PEERS__ORDERING`), or several replicas' URLs separated by commas (tried in turn,
/// `service::peers::url_list`); empty or absent: this process's own listener. `iam`'s are
/// also where tokens and keys are fetched (instead of the public issuer).
pub type Peers = BTreeMap<String, String>;

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

/// Traces (`[telemetry]`): where spans go (`crate::telemetry`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// An OpenTelemetry Collector's OTLP/HTTP base URL (`http://127.0.0.1:4318`); spans go
    /// to `<it>/v1/traces`. Empty: no spans are exported (logs still carry trace ids).
    pub otlp_endpoint: String,
    /// Which spans (and events, as span events) are exported, in tracing's EnvFilter syntax.
    pub filter: String,
    /// The limit of one export, ms.
    pub export_timeout_ms: u64,
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
        let mut figment = Figment::from(Toml::string(&default_toml()));
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
        let config = Config::extract(&figment)
            .map_err(|e| anyhow::anyhow!("invalid configuration: {}", describe(*e, &from_env)))?;
        config.validate(&from_env)?;
        Ok(config)
    }

    /// Each section from `figment`: the core ones typed (figment names a failing key in
    /// full), the services' kept as they are for their own check.
    // Boxed: figment's error is large, and this is the cold path.
    fn extract(figment: &Figment) -> Result<Config, Box<figment::Error>> {
        let top: BTreeMap<String, Value> = figment.extract()?;
        if let Some(unknown) = top
            .keys()
            .find(|k| !CORE_SECTIONS.contains(&k.as_str()) && !SERVICES.contains(&k.as_str()))
        {
            static KNOWN: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
            let known =
                KNOWN.get_or_init(|| CORE_SECTIONS.iter().chain(SERVICES).copied().collect());
            return Err(Box::new(figment::Error::from(Kind::UnknownField(
                unknown.clone(),
                known.as_slice(),
            ))));
        }
        let mut services = BTreeMap::new();
        for name in SERVICES {
            let section = match figment.find_value(name) {
                Ok(_) => figment.extract_inner::<serde_json::Value>(name)?,
                Err(_) => serde_json::Value::Object(Default::default()),
            };
            services.insert((*name).to_owned(), section);
        }
        Ok(Config {
            http: figment.extract_inner("http")?,
            embedded: figment.extract_inner("embedded")?,
            databases: figment.extract_inner("databases")?,
            nats: figment.extract_inner("nats")?,
            peers: figment.extract_inner("peers")?,
            log: figment.extract_inner("log")?,
            telemetry: figment.extract_inner("telemetry")?,
            messaging: figment.extract_inner("messaging")?,
            auth: figment.extract_inner("auth")?,
            clock: figment.extract_inner("clock")?,
            services,
        })
    }

    /// The compiled-in defaults alone.
    pub fn defaults() -> Config {
        Config::load_from(None, std::iter::empty()).expect("the default configuration is valid")
    }

    /// Service `name`'s section as its own type (`config.section::<IamConfig>("iam")`).
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> anyhow::Result<T> {
        let section = self
            .services
            .get(name)
            .ok_or_else(|| anyhow::anyhow!("no service {name:?}"))?;
        T::deserialize(section).map_err(|e| anyhow::anyhow!("{name}: {e}"))
    }

    /// Sets the service key `key` (`iam.bootstrap_admin_password`) to `value`, as a file
    /// or variable would; the section is checked again.
    pub fn set(&mut self, key: &str, value: impl Serialize) -> anyhow::Result<()> {
        let mut path = key.split('.');
        let name = path.next().unwrap_or_default();
        let spec = crate::system::spec(name)?;
        let mut section = self.services.get(name).cloned().unwrap_or_default();
        let mut at = &mut section;
        for part in path {
            if !at.is_object() {
                *at = serde_json::Value::Object(Default::default());
            }
            at = at
                .as_object_mut()
                .expect("made an object above")
                .entry(part)
                .or_insert(serde_json::Value::Null);
        }
        *at = serde_json::to_value(value)?;
        (spec.config.check)(&section).map_err(|e| anyhow::anyhow!("{key}: {}", e.message))?;
        self.services.insert(name.to_owned(), section);
        Ok(())
    }

    fn validate(&self, from_env: &[(String, String)]) -> anyhow::Result<()> {
        if self.http.listen.parse::<std::net::SocketAddr>().is_err() {
            anyhow::bail!(
                "http.listen: {:?} is not an address like 127.0.0.1:8080",
                self.http.listen
            );
        }
        if !matches!(self.log.format.as_str(), "pretty" | "json") {
            anyhow::bail!("log.format: must be \"pretty\" or \"json\"");
        }
        let endpoint = &self.telemetry.otlp_endpoint;
        // Plain HTTP only: this build has no TLS client for the exporter; a collector (or
        // its agent) next to the process takes the spans.
        if !endpoint.is_empty() && endpoint.strip_prefix("http://").is_none_or(str::is_empty) {
            anyhow::bail!(
                "telemetry.otlp_endpoint: {endpoint:?} is not an http:// URL of an OTLP/HTTP \
                 receiver like http://127.0.0.1:4318"
            );
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.telemetry.filter) {
            anyhow::bail!("telemetry.filter: {e}");
        }
        if self.telemetry.export_timeout_ms < 1 {
            anyhow::bail!("telemetry.export_timeout_ms: must be at least 1");
        }
        for (section, keys) in [("databases", &self.databases), ("peers", &self.peers)] {
            if let Some(unknown) = keys.keys().find(|k| !SERVICES.contains(&k.as_str())) {
                anyhow::bail!(
                    "{section}.{unknown}: no such service (known: {})",
                    SERVICES.join(", ")
                );
            }
        }
        for (name, urls) in &self.peers {
            if let Some(bad) = service::peers::url_list(urls)
                .into_iter()
                .find(|url| !url.starts_with("http://") && !url.starts_with("https://"))
            {
                anyhow::bail!("peers.{name}: {bad:?} is not an http:// or https:// URL");
            }
        }
        if self.http.peer_timeout_ms < 1 {
            anyhow::bail!("http.peer_timeout_ms: must be at least 1");
        }
        if self.messaging.max_deliver < 1 {
            anyhow::bail!("messaging.max_deliver: must be at least 1");
        }
        if self.messaging.relay_batch < 1 {
            anyhow::bail!("messaging.relay_batch: must be at least 1");
        }
        for spec in REGISTRY {
            let section = &self.services[spec.name];
            if let Err(e) = (spec.config.check)(section) {
                let key = if e.key.is_empty() {
                    spec.name.to_owned()
                } else {
                    format!("{}.{}", spec.name, e.key)
                };
                if e.unknown {
                    let origin = from_env
                        .iter()
                        .find(|(k, _)| *k == key)
                        .map(|(_, var)| format!(" (set by the environment variable {var})"))
                        .unwrap_or_default();
                    anyhow::bail!(
                        "invalid configuration: unknown configuration key `{key}`{origin}: {}",
                        e.message
                    );
                }
                if e.key.is_empty() {
                    anyhow::bail!("invalid configuration: {}", e.message);
                }
                anyhow::bail!("invalid configuration: {key}: {}", e.message);
            }
        }
        Ok(())
    }

    /// This configuration with passwords in URLs replaced by `***`, fit to print or log.
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        for url in c.databases.values_mut() {
            *url = redact_url(url);
        }
        c.telemetry.otlp_endpoint = redact_url(&c.telemetry.otlp_endpoint);
        for section in c.services.values_mut() {
            redact_section(section);
        }
        c.nats.url = redact_url(&c.nats.url);
        if !c.auth.service_secret.is_empty() {
            c.auth.service_secret = "***".into();
        }
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
                // A whole unknown section is named by the variable that set a key in it.
                let origin = from_env
                    .iter()
                    .find(|(k, _)| *k == key || k.starts_with(&format!("{key}.")))
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

/// In a service's section: every non-empty value of a key naming a password or secret
/// becomes `***`, and passwords in URLs are hidden — whatever the service (no list of
/// secret keys to keep in step with the services).
fn redact_section(value: &mut serde_json::Value) {
    if let Some(map) = value.as_object_mut() {
        for (key, v) in map.iter_mut() {
            let secret = key.contains("password") || key.contains("secret");
            match v {
                serde_json::Value::String(text) if secret && !text.is_empty() => {
                    *text = "***".into();
                }
                serde_json::Value::String(text) => *text = redact_url(text),
                other => redact_section(other),
            }
        }
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
        let ordering: ordering::OrderingConfig = config.section("ordering").unwrap();
        assert_eq!(ordering.no_show_grace_minutes, 45);
        assert!(config.clock.adjustable);
        let iam: iam::IamConfig = config.section("iam").unwrap();
        assert_eq!(iam.web_redirect_uris, ["http://a/cb", "http://b/cb"]);
    }

    #[test]
    fn traces_are_off_by_default_and_go_to_a_plain_http_endpoint() {
        let defaults = Config::defaults();
        assert_eq!(defaults.telemetry.otlp_endpoint, "");
        assert_eq!(defaults.telemetry.filter, "info");
        let on = vars(&[(
            "MCF_TELEMETRY__OTLP_ENDPOINT",
            "http://otel:s3cret@collector:4318",
        )]);
        let config = Config::load_from(None, on).unwrap();
        assert_eq!(
            config.telemetry.otlp_endpoint,
            "http://otel:s3cret@collector:4318"
        );
        assert_eq!(
            config.redacted().telemetry.otlp_endpoint,
            "http://otel:***@collector:4318"
        );
        for (key, value) in [
            ("MCF_TELEMETRY__OTLP_ENDPOINT", "https://collector:4318"),
            ("MCF_TELEMETRY__OTLP_ENDPOINT", "collector:4318"),
            ("MCF_TELEMETRY__OTLP_ENDPOINT", "http://"),
            ("MCF_TELEMETRY__FILTER", "info,[bad"),
            ("MCF_TELEMETRY__EXPORT_TIMEOUT_MS", "0"),
        ] {
            let e = Config::load_from(None, vars(&[(key, value)]))
                .unwrap_err()
                .to_string();
            let named = key.trim_start_matches("MCF_").replace("__", ".");
            assert!(e.contains(&named.to_ascii_lowercase()), "{value}: {e}");
        }
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
            assert!(default_toml().contains(&format!("\n{service} = \"\"\n")));
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
    fn a_peer_may_list_several_replicas_and_each_must_be_a_url() {
        // A list from the environment stays one string, read by the peers as a list.
        let both = "http://a:8080/api/ordering, http://b:8080/api/ordering";
        let config = Config::load_from(None, vars(&[("MCF_PEERS__ORDERING", both)])).unwrap();
        assert_eq!(
            service::peers::url_list(&config.peers["ordering"]),
            ["http://a:8080/api/ordering", "http://b:8080/api/ordering"]
        );
        let e = Config::load_from(
            None,
            vars(&[("MCF_PEERS__ORDERING", "http://a:8080/api/ordering,b:8080")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("peers.ordering") && e.contains("\"b:8080\""),
            "{e}"
        );
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
        for spec in REGISTRY {
            // Each service's file starts with its own header and equals its code defaults.
            assert!(
                spec.config
                    .default_toml
                    .starts_with(&format!("[{}]\n", spec.name)),
                "{}'s config.toml must start with [{}]",
                spec.name,
                spec.name
            );
            assert!(
                (spec.config.is_default)(&config.services[spec.name]),
                "{}: config.toml differs from the code's defaults",
                spec.name
            );
        }
        assert!(!config.clock.adjustable);
    }

    #[test]
    fn a_service_key_can_be_set_and_is_checked_again() {
        let mut config = Config::defaults();
        config.set("iam.bootstrap_admin_password", "pw").unwrap();
        let iam: iam::IamConfig = config.section("iam").unwrap();
        assert_eq!(iam.bootstrap_admin_password, "pw");
        assert_eq!(
            config.redacted().services["iam"]["bootstrap_admin_password"],
            "***"
        );
        let e = config.set("iam.code_ttl_s", 0).unwrap_err().to_string();
        assert!(e.contains("iam.code_ttl_s"), "{e}");
        assert!(config.set("nope.x", 1).is_err());
    }

    #[test]
    fn an_unknown_section_is_refused_naming_it() {
        let e = Config::load_from(None, vars(&[("MCF_INVENTRY__X", "1")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`inventry`") && e.contains("MCF_INVENTRY__X"),
            "{e}"
        );
    }
}
