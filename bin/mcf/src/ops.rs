//! `mcf ops`: operator commands against a running system, over its HTTP API with an
//! admin's token, so they work the same on `mcf up` and on `mcf serve` processes.
//!
//! A service is reached at `[peers] <service>` when the configuration names it (the same
//! URLs the processes call each other at), else at `<--url>/api/<service>`.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use serde_json::Value;

/// Where the system is and who calls it.
pub struct Target {
    /// The system's base URL (`http://host:port`), for services without a peer URL.
    pub url: String,
    /// `[peers]`: service base URLs (`http://host:port/api/<service>`).
    pub peers: BTreeMap<String, String>,
    /// The admin's access token.
    pub token: String,
    pub http: reqwest::Client,
}

/// A refusal or failure of the system, with its problem's words.
fn refused(what: &str, status: reqwest::StatusCode, body: &str) -> anyhow::Error {
    let problem: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let detail = problem["detail"].as_str().unwrap_or(body);
    match problem["code"].as_str() {
        Some(code) => anyhow::anyhow!("{what}: {status} {code}: {detail}"),
        None => anyhow::anyhow!("{what}: {status}: {detail}"),
    }
}

impl Target {
    /// The base URL of `service`'s API (the first of its peer URLs when several replicas
    /// are listed).
    pub fn api(&self, service: &str) -> String {
        let peer = self
            .peers
            .get(service)
            .and_then(|urls| urls.split(',').map(str::trim).find(|u| !u.is_empty()));
        match peer {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("{}/api/{service}", self.url.trim_end_matches('/')),
        }
    }

    async fn send(&self, what: &str, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("{what}: the system does not answer"))?;
        let status = response.status();
        let body = response.text().await?;
        if !status.is_success() {
            return Err(refused(what, status, &body));
        }
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&body).with_context(|| format!("{what}: not JSON: {body}"))
    }

    async fn get(&self, service: &str, path: &str) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.api(service));
        self.send(&format!("GET {url}"), self.http.get(&url)).await
    }

    async fn post(&self, service: &str, path: &str) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.api(service));
        self.send(&format!("POST {url}"), self.http.post(&url))
            .await
    }
}

/// The services a command covers: the one named, else every registered one.
fn services(only: Option<&str>) -> anyhow::Result<Vec<&'static str>> {
    match only {
        Some(name) => Ok(vec![crate::system::spec(name)?.name]),
        None => Ok(crate::system::SERVICES.to_vec()),
    }
}

/// Left-aligned columns under a header, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0)))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = line(header.iter().map(|h| (*h).to_owned()).collect());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.clone()));
        out.push('\n');
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Unix microseconds as RFC 3339 (UTC, seconds).
fn micros(v: &Value) -> String {
    v.as_i64()
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| "-".into())
}

/// `mcf ops dead-letters list`: every service's dead letters (pending ones, or all), as
/// a table or JSON (`[{service, ...letter}]`).
pub async fn list_dead_letters(
    target: &Target,
    only: Option<&str>,
    all: bool,
    json: bool,
) -> anyhow::Result<String> {
    let mut letters = Vec::new();
    for service in services(only)? {
        let path = if all {
            "/ops/dead-letters?all=true"
        } else {
            "/ops/dead-letters"
        };
        let list = target.get(service, path).await?;
        for mut letter in list.as_array().cloned().unwrap_or_default() {
            letter["service"] = Value::from(service);
            letters.push(letter);
        }
    }
    if json {
        return Ok(serde_json::to_string_pretty(&letters)? + "\n");
    }
    if letters.is_empty() {
        return Ok("no dead letters\n".into());
    }
    let rows: Vec<Vec<String>> = letters
        .iter()
        .map(|l| {
            let mut error = text(&l["error"]);
            if error.chars().count() > 60 {
                error = error.chars().take(57).collect::<String>() + "...";
            }
            vec![
                text(&l["service"]),
                text(&l["id"]),
                text(&l["consumer"]),
                text(&l["event_type"]),
                text(&l["attempts"]),
                micros(&l["failed_at"]),
                micros(&l["replayed_at"]),
                error,
            ]
        })
        .collect();
    Ok(table(
        &[
            "SERVICE", "ID", "CONSUMER", "EVENT", "ATTEMPTS", "FAILED", "REPLAYED", "ERROR",
        ],
        &rows,
    ))
}

/// `mcf ops dead-letters replay`: runs dead letter `id` of `service` through its consumer
/// again.
pub async fn replay_dead_letter(
    target: &Target,
    service: &str,
    id: &str,
    json: bool,
) -> anyhow::Result<String> {
    let service = crate::system::spec(service)?.name;
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        bail!("dead letter id {id:?}: expected an id as `mcf ops dead-letters list` shows it");
    }
    target
        .post(service, &format!("/ops/dead-letters/{id}/replay"))
        .await?;
    Ok(if json {
        serde_json::json!({"service": service, "id": id, "replayed": true}).to_string() + "\n"
    } else {
        format!("{service}: dead letter {id} replayed\n")
    })
}

/// `mcf ops messaging`: per service its outbox backlog (events and the oldest one's wait),
/// pending dead letters, and per consumer its lag (events the bus holds for it).
pub async fn messaging(target: &Target, only: Option<&str>, json: bool) -> anyhow::Result<String> {
    let mut all = serde_json::Map::new();
    for service in services(only)? {
        all.insert(
            service.to_owned(),
            target.get(service, "/ops/messaging").await?,
        );
    }
    if json {
        return Ok(serde_json::to_string_pretty(&all)? + "\n");
    }
    let outboxes: Vec<Vec<String>> = all
        .iter()
        .map(|(service, s)| {
            vec![
                service.clone(),
                text(&s["outbox_pending"]),
                s["outbox_oldest_pending_ms"]
                    .as_i64()
                    .map(|ms| format!("{:.1}", ms as f64 / 1000.0))
                    .unwrap_or_else(|| "-".into()),
                text(&s["dead_letters_pending"]),
            ]
        })
        .collect();
    let consumers: Vec<Vec<String>> = all
        .iter()
        .flat_map(|(service, s)| {
            s["consumer_pending"]
                .as_object()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |(consumer, n)| vec![service.clone(), consumer, text(&n)])
        })
        .collect();
    Ok(format!(
        "{}\n{}",
        table(
            &[
                "SERVICE",
                "OUTBOX PENDING",
                "OLDEST WAIT (s)",
                "DEAD LETTERS"
            ],
            &outboxes
        ),
        table(&["SERVICE", "CONSUMER", "LAG (events)"], &consumers)
    ))
}

/// `mcf ops rotate-keys`: IAM signs with new keys from now on (the old ones stay published
/// until their tokens expire).
pub async fn rotate_keys(target: &Target, json: bool) -> anyhow::Result<String> {
    let rotated = target.post("iam", "/keys/rotate").await?;
    Ok(if json {
        rotated.to_string() + "\n"
    } else {
        format!(
            "iam: new signing keys (tokens are signed with {} from now on; EdDSA {}, RS256 {})\n",
            text(&rotated["kid"]),
            text(&rotated["kids"]["EdDSA"]),
            text(&rotated["kids"]["RS256"]),
        )
    })
}

/// Whether Quality answers at the target: a rebuild must not run under it.
pub async fn quality_answers(target: &Target) -> bool {
    let url = format!("{}/health", target.api("quality"));
    matches!(target.http.get(url).send().await, Ok(r) if r.status().is_success())
}

/// `mcf ops`'s arguments: where the system is, who calls it, and the command.
#[derive(clap::Args)]
pub struct OpsArgs {
    /// The system's base URL (`mcf up`'s listener, or a proxy in front of the `mcf serve`
    /// processes); `[peers]` in the configuration overrides it per service.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An admin's access token (`mcf login`), or env MCF_TOKEN; else --email and
    /// --password sign in.
    #[arg(long, global = true, env = "MCF_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// An admin's e-mail, to sign in with --password.
    #[arg(long, global = true)]
    pub email: Option<String>,
    /// The admin's password (or env MCF_PASSWORD).
    #[arg(long, global = true, env = "MCF_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// A redirect URI registered for the `mcf-web` client, to sign in with.
    #[arg(
        long,
        global = true,
        default_value = "http://127.0.0.1:8080/app/callback"
    )]
    pub redirect_uri: String,
    /// Print JSON instead of tables, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: OpsCommand,
}

/// The operator commands.
#[derive(clap::Subcommand)]
pub enum OpsCommand {
    /// Events parked after failing their consumer.
    DeadLetters {
        #[command(subcommand)]
        command: DeadLetterCommand,
    },
    /// Per service the outbox backlog (events not yet on the bus, the oldest one's wait)
    /// and pending dead letters; per consumer its lag (events the bus holds for it).
    Messaging {
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
    },
    /// IAM signs tokens with new keys from now on; the old keys stay published until the
    /// tokens they signed expire.
    RotateKeys,
    /// Rebuild a projection from the streams. `quality-timeline`: Quality's timeline and
    /// order files. Run it while Quality is stopped (refused while it answers at --url):
    /// its timeline consumers replay every stream the bus still keeps when it starts again.
    Rebuild {
        #[arg(value_parser = ["quality-timeline"])]
        projection: String,
        /// Data directory (embedded; default ./mcf-data; config embedded.data_dir).
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
        /// Quality's PostgreSQL database and NATS (distributed) instead of the data dir.
        #[arg(long)]
        distributed: bool,
    },
}

/// `mcf ops dead-letters ...`.
#[derive(clap::Subcommand)]
pub enum DeadLetterCommand {
    /// Every service's pending dead letters (with --all also those replayed).
    List {
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Apply a dead letter again through its consumer (once: its inbox still guards it).
    Replay {
        /// The service whose consumer parked it (the SERVICE column of `list`).
        #[arg(long)]
        service: String,
        /// Its id (the ID column of `list`).
        id: String,
    },
}

/// Signs in as `args` say, or takes the token given.
async fn token(args: &OpsArgs, target: &Target) -> anyhow::Result<String> {
    if let Some(token) = args.token.as_ref().filter(|t| !t.is_empty()) {
        return Ok(token.clone());
    }
    let (Some(email), Some(password)) = (&args.email, &args.password) else {
        bail!("give an admin's --token (or env MCF_TOKEN), or --email and --password");
    };
    // `mcf login` signs in at `<base>/api/iam`: IAM's base without its suffix.
    let iam = target.api("iam");
    let base = iam.strip_suffix("/api/iam").unwrap_or(&iam);
    crate::login::access_token(base, email, password, &args.redirect_uri).await
}

/// Runs `mcf ops ...` with the configuration's `[peers]` and prints what it answers.
pub async fn run(args: OpsArgs, config: &crate::Config) -> anyhow::Result<()> {
    let mut target = Target {
        url: args.url.clone(),
        peers: config.peers.clone(),
        token: String::new(),
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?,
    };
    if let OpsCommand::Rebuild {
        projection: _,
        data_dir,
        distributed,
    } = &args.command
    {
        // Offline: it works on Quality's database and the bus directly, no token needed.
        if quality_answers(&target).await {
            bail!(
                "Quality answers at {}: stop it first (its consumers must not run while \
                 the projection is reset)",
                target.api("quality")
            );
        }
        let mut config = config.clone();
        if let Some(d) = data_dir {
            config.embedded.data_dir = d.clone();
        }
        let reset = crate::system::rebuild_quality(&config, *distributed).await?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({"projection": "quality-timeline", "entries": reset.entries,
                    "files": reset.files, "inbox": reset.inbox})
            );
        } else {
            println!(
                "quality: timeline reset ({} entries, {} order files, {} inbox rows); \
                 start Quality to replay the streams into it",
                reset.entries, reset.files, reset.inbox
            );
        }
        return Ok(());
    }
    target.token = token(&args, &target).await?;
    let out = match &args.command {
        OpsCommand::DeadLetters {
            command: DeadLetterCommand::List { service, all },
        } => list_dead_letters(&target, service.as_deref(), *all, args.json).await?,
        OpsCommand::DeadLetters {
            command: DeadLetterCommand::Replay { service, id },
        } => replay_dead_letter(&target, service, id, args.json).await?,
        OpsCommand::Messaging { service } => {
            messaging(&target, service.as_deref(), args.json).await?
        }
        OpsCommand::RotateKeys => rotate_keys(&target, args.json).await?,
        OpsCommand::Rebuild { .. } => unreachable!("handled above"),
    };
    print!("{out}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_under_their_header() {
        let t = table(
            &["SERVICE", "LAG"],
            &[
                vec!["ordering".into(), "3".into()],
                vec!["iam".into(), "12".into()],
            ],
        );
        assert_eq!(t, "SERVICE   LAG\nordering  3\niam       12\n");
    }

    #[test]
    fn a_service_is_reached_at_its_peer_url_else_under_the_base() {
        let target = Target {
            url: "http://127.0.0.1:8080/".into(),
            peers: [
                ("iam".to_owned(), "http://iam:9000/api/iam/".to_owned()),
                (
                    "matching".to_owned(),
                    " http://m1:9000/api/matching, http://m2:9000/api/matching".to_owned(),
                ),
            ]
            .into(),
            token: String::new(),
            http: reqwest::Client::new(),
        };
        assert_eq!(target.api("iam"), "http://iam:9000/api/iam");
        assert_eq!(target.api("ordering"), "http://127.0.0.1:8080/api/ordering");
        assert_eq!(target.api("matching"), "http://m1:9000/api/matching");
    }

    #[test]
    fn only_registered_services_are_asked() {
        assert_eq!(services(Some("ordering")).unwrap(), ["ordering"]);
        assert!(services(Some("nope")).is_err());
        assert_eq!(services(None).unwrap().len(), crate::system::SERVICES.len());
    }
}
