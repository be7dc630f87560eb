//! Prometheus `/metrics` during the flow, and the operator commands (`mcf ops ...`) run
//! as an operator does, against the running system.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{ADMIN_EMAIL, ADMIN_PASSWORD, Cluster, Mode, REDIRECT};
use crate::invariants::assert_flow_complete;

/// One sample line of the exposition format: its name, labels and value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The samples of a `/metrics` answer (comments skipped). Label values here never hold
/// `,` or `"` (templates, names, outcomes), which keeps the reader short.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let inner = rest.strip_suffix('}').expect("labels end with }");
                let labels = inner
                    .split(',')
                    .filter(|kv| !kv.is_empty())
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').expect("label=value");
                        (k.to_owned(), v.trim_matches('"').to_owned())
                    })
                    .collect();
                (name.to_owned(), labels)
            }
            None => (series.to_owned(), BTreeMap::new()),
        };
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    samples
}

/// What every process of the system answers at `/metrics`, parsed; the answers' status
/// and content type checked.
async fn scrape(c: &mut Cluster) -> Vec<Sample> {
    let bases: Vec<String> = c
        .procs
        .iter_mut()
        .filter_map(|p| (!p.exited()).then(|| p.base.clone()))
        .collect();
    let mut all = Vec::new();
    for base in bases {
        // Unauthenticated, like /health: a scraper has no token.
        let r = c.http.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
        all.extend(parse(&r.text().await.unwrap()));
    }
    all
}

/// The sum over every process of series `name` whose labels include `labels`.
fn total(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

/// Whether any series `name` carries `labels`.
fn present(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> bool {
    samples.iter().any(|s| {
        s.name == name
            && labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
    })
}

pub async fn metrics_show_the_flow(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let st = c.service_type().await;
    c.register_worker("Tom", 90).await;
    c.token_for("client-m", "client").await;
    let ids = c.request_orders(6, &st, "client-m").await;
    assert_eq!(ids.len(), 6);
    assert_flow_complete(&mut c, &ids).await;

    // Inventory orders a cookie per active order from the contractor, and Mail sends the
    // clients' mails (the tests' Mail writes files instead of talking SMTP): wait for both.
    let start = Instant::now();
    let samples = loop {
        let samples = scrape(&mut c).await;
        let cookies = [("partner", "cookie contractor"), ("outcome", "ok")];
        let mails = [("transport", "file"), ("outcome", "sent")];
        if total(&samples, "mcf_partner_calls_total", &cookies) >= 1.0
            && total(&samples, "mcf_mail_sends_total", &mails) >= 1.0
        {
            break samples;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no cookie contractor call or mail counted: {:?}",
            samples
                .iter()
                .filter(|s| s.name.starts_with("mcf_partner") || s.name.starts_with("mcf_mail"))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    assert!(
        total(
            &samples,
            "mcf_partner_call_duration_seconds_count",
            &[("partner", "cookie contractor")]
        ) >= 1.0
    );
    assert!(
        total(
            &samples,
            "mcf_mail_send_duration_seconds_count",
            &[("transport", "file")]
        ) >= 1.0
    );

    // HTTP: the order route by its template, six answered 201, and timed.
    let orders = [
        ("service", "ordering"),
        ("method", "POST"),
        ("route", "/api/ordering/orders"),
    ];
    let created = [orders[0], orders[1], orders[2], ("status", "201")];
    assert_eq!(total(&samples, "mcf_http_requests_total", &created), 6.0);
    assert_eq!(
        total(&samples, "mcf_http_request_duration_seconds_count", &orders),
        6.0
    );
    assert!(total(&samples, "mcf_http_request_duration_seconds_sum", &orders) > 0.0);
    // Route labels are templates, never paths with ids in them.
    for s in samples
        .iter()
        .filter(|s| s.name == "mcf_http_requests_total")
    {
        let route = &s.labels["route"];
        assert!(
            !ids.iter().any(|id| route.contains(id.as_str())),
            "an id in a route label: {route}"
        );
    }
    // Messaging: Ordering's outbox relayed its order events; Ordering applied each
    // assignment, timed, with the event's age; nothing waits or is dead.
    assert!(
        total(
            &samples,
            "mcf_outbox_relayed_events_total",
            &[("service", "ordering")]
        ) >= 6.0
    );
    let assignment = [("consumer", "ordering.on-assignment")];
    assert_eq!(
        total(
            &samples,
            "mcf_consumer_events_total",
            &[assignment[0], ("outcome", "applied")]
        ),
        6.0
    );
    assert_eq!(
        total(
            &samples,
            "mcf_consumer_processing_seconds_count",
            &assignment
        ),
        6.0
    );
    assert_eq!(
        total(
            &samples,
            "mcf_consumer_event_age_seconds_count",
            &assignment
        ),
        6.0
    );
    assert!(present(
        &samples,
        "mcf_consumer_pending_events",
        &[("service", "ordering"), assignment[0]]
    ));
    for service in mcf::system::SERVICES {
        let labels = [("service", *service)];
        assert!(
            present(&samples, "mcf_outbox_pending_events", &labels),
            "{service}"
        );
        assert!(
            present(&samples, "mcf_outbox_oldest_pending_age_seconds", &labels),
            "{service}"
        );
        assert!(
            present(&samples, "mcf_dead_letters_pending", &labels),
            "{service}"
        );
    }
    assert_eq!(total(&samples, "mcf_dead_letters_pending", &[]), 0.0);
    // Matching decided each order, timed.
    assert_eq!(
        total(
            &samples,
            "mcf_matching_decision_seconds_count",
            &[("outcome", "decided")]
        ),
        6.0
    );
    // Billing's cycle loop runs and counts per cycle (no week has ended yet here: none ran).
    assert_eq!(total(&samples, "mcf_billing_cycle_runs_total", &[]), 0.0);
}

/// Runs `mcf ops <args>` against `c` as its admin (with the admin's token, or signing in
/// with e-mail and password when `token` is `None`); returns (success, stdout, stderr).
fn ops_as(c: &mut Cluster, token: Option<&str>, args: &[&str]) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mcf"));
    let base = c.api("iam").trim_end_matches("/api/iam").to_owned();
    cmd.arg("ops").args(args).args(["--url", &base]);
    match token {
        Some(token) => cmd.env("MCF_TOKEN", token).env_remove("MCF_PASSWORD"),
        None => cmd
            .args(["--email", ADMIN_EMAIL, "--redirect-uri", REDIRECT])
            .env("MCF_PASSWORD", ADMIN_PASSWORD)
            .env_remove("MCF_TOKEN"),
    };
    // Distributed: each service where a process of it listens, as `[peers]` tells.
    for service in mcf::system::SERVICES {
        cmd.env(
            format!("MCF_PEERS__{}", service.to_ascii_uppercase()),
            c.api(service),
        );
    }
    let out = cmd.output().expect("mcf ops runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An assignment Ordering cannot read, put on the bus as Matching would publish it.
async fn publish_unreadable_assignment(c: &Cluster, mode: Mode) -> String {
    let id = uuid::Uuid::now_v7();
    let envelope: contracts::Envelope = serde_json::from_value(json!({
        "id": id,
        "type": "matching.worker.assigned",
        "version": 1,
        "source": "matching",
        "time": chrono::Utc::now(),
        "aggregate_id": "not-an-order",
        "aggregate_version": 1,
        "correlation_id": uuid::Uuid::now_v7(),
        "causation_id": null,
        "traceparent": null,
        "data": {"order_id": "not-an-order"},
    }))
    .expect("an envelope");
    let bus = match mode {
        Mode::Embedded => {
            let path = c
                .mail_dir()
                .parent()
                .unwrap()
                .join("data")
                .join("bus.sqlite");
            messaging::Bus::Embedded(messaging::bus::EmbeddedBus::open(&path).await.unwrap())
        }
        Mode::Distributed => messaging::Bus::Nats(std::sync::Arc::new(
            messaging::bus::NatsBus::connect(
                &c.nats.as_ref().unwrap().url(),
                &messaging::MessagingConfig::default(),
            )
            .await
            .unwrap(),
        )),
    };
    bus.publish_all(&[&envelope]).await.unwrap();
    id.to_string()
}

pub async fn operators_list_and_replay_dead_letters_see_lag_and_rotate_keys(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let token = c.admin_token().await;
    let ops = |c: &mut Cluster, args: &[&str]| ops_as(c, Some(&token), args);

    // Nothing parked yet (signing in with e-mail and password).
    let (ok, out, err) = ops_as(&mut c, None, &["dead-letters", "list"]);
    assert!(ok, "{err}");
    assert_eq!(out, "no dead letters\n");

    // An event Ordering's consumer rejects is parked at once; so does Quality's timeline,
    // which hears every assignment too.
    let event_id = publish_unreadable_assignment(&c, mode).await;
    let start = Instant::now();
    let letters = loop {
        let (ok, out, err) = ops(&mut c, &["dead-letters", "list", "--json"]);
        assert!(ok, "{err}");
        let letters: Value = serde_json::from_str(&out).unwrap();
        if letters.as_array().is_some_and(|l| l.len() >= 2) {
            break letters;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no dead letter appeared"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let letters = letters.as_array().unwrap();
    assert_eq!(letters.len(), 2, "{letters:?}");
    let mut consumers: Vec<&str> = letters
        .iter()
        .map(|l| l["consumer"].as_str().unwrap())
        .collect();
    consumers.sort();
    assert_eq!(
        consumers,
        ["ordering.on-assignment", "quality.timeline.matching"]
    );
    let letter = letters.iter().find(|l| l["service"] == "ordering").unwrap();
    assert_eq!(letter["consumer"], "ordering.on-assignment");
    assert_eq!(letter["event_id"], event_id.as_str());
    assert_eq!(letter["replayed_at"], Value::Null);
    let id = letter["id"].as_str().unwrap().to_owned();

    // The table names it too.
    let (ok, table, err) = ops(&mut c, &["dead-letters", "list", "--service", "ordering"]);
    assert!(ok, "{err}");
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("SERVICE"), "{table}");
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("ordering")
            && row.contains(&id)
            && row.contains("matching.worker.assigned"),
        "{table}"
    );

    // The backlog view shows it pending, every consumer's lag and no stuck outbox.
    let (ok, out, err) = ops(&mut c, &["messaging", "--json"]);
    assert!(ok, "{err}");
    let stats: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stats["ordering"]["dead_letters_pending"], 1, "{stats}");
    assert_eq!(stats["quality"]["dead_letters_pending"], 1, "{stats}");
    assert_eq!(stats["matching"]["dead_letters_pending"], 0, "{stats}");
    assert!(
        stats["ordering"]["consumer_pending"]["ordering.on-assignment"].is_u64(),
        "{stats}"
    );
    assert!(
        stats["mail"]["consumer_pending"]
            .as_object()
            .is_some_and(|m| m.len() >= 5),
        "{stats}"
    );
    let (ok, out, err) = ops(&mut c, &["messaging", "--service", "ordering"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("OUTBOX PENDING") && out.contains("ordering.on-assignment"),
        "{out}"
    );

    // So does /metrics.
    let samples = scrape(&mut c).await;
    assert_eq!(
        total(
            &samples,
            "mcf_dead_letters_total",
            &[("consumer", "ordering.on-assignment")]
        ),
        1.0
    );
    assert_eq!(
        total(
            &samples,
            "mcf_dead_letters_pending",
            &[("service", "ordering")]
        ),
        // Distributed: both Ordering replicas read the same database.
        (c.apis("ordering").len()) as f64
    );

    // Replaying it runs the consumer again, which refuses it again: said, and it stays
    // pending.
    let (ok, _, err) = ops(
        &mut c,
        &["dead-letters", "replay", "--service", "ordering", &id],
    );
    assert!(!ok);
    assert!(
        err.contains("409") && err.contains("replay_failed"),
        "{err}"
    );
    let (ok, _, err) = ops(
        &mut c,
        &[
            "dead-letters",
            "replay",
            "--service",
            "ordering",
            "no-such-letter",
        ],
    );
    assert!(!ok);
    assert!(err.contains("404") && err.contains("not_found"), "{err}");
    let (ok, out, err) = ops(
        &mut c,
        &["dead-letters", "list", "--json", "--service", "ordering"],
    );
    assert!(ok, "{err}");
    let letters: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(letters.as_array().unwrap().len(), 1, "{letters}");
    assert_eq!(letters[0]["id"], id.as_str());
    assert_eq!(letters[0]["replayed_at"], Value::Null);
    assert!(letters[0]["attempts"].as_i64().unwrap() >= 1);

    // Keys: IAM signs with new ones from now on.
    let (ok, out, err) = ops(&mut c, &["rotate-keys", "--json"]);
    assert!(ok, "{err}");
    let rotated: Value = serde_json::from_str(&out).unwrap();
    let kid = rotated["kid"].as_str().unwrap();
    let (_, jwks) = c.get("iam", "/jwks.json").await;
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid),
        "{jwks}"
    );

    // A rebuild is refused while Quality answers.
    let (ok, _, err) = ops(&mut c, &["rebuild", "quality-timeline"]);
    assert!(!ok);
    assert!(err.contains("stop it first"), "{err}");

    // Without credentials nothing is asked.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mcf"));
    let out = cmd
        .args(["ops", "messaging", "--url", "http://127.0.0.1:9"])
        .env_remove("MCF_TOKEN")
        .env_remove("MCF_PASSWORD")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token"));
}
