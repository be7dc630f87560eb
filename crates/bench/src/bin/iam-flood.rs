//! Flood benchmark of IAM's public set-password endpoint (`POST /api/iam/password`), which
//! once hashed a password before looking the link up: about 100 requests with made-up links
//! made a normal sign-in take 1-2 s instead of 20-60 ms. Measures the latency of a whole
//! sign-in (sign-in form with its argon2 check, then the code exchange) while nothing happens,
//! under a flood of bad links from one source, from many sources (each flooder request from
//! a set of loopback addresses of its own, 127.x.y.z, more than the per-address throttle
//! lets through in a phase, so none is stopped), and
//! under a flood of real new-password hashes (admins creating accounts with passwords), which
//! may never take the hashing pool's last slot. Prints JSON. Not a test: nothing asserts.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bench::{Bench, FloodArgs, Tally, probe_until};
use clap::Parser;
use serde_json::json;

#[derive(Clone, Copy, PartialEq)]
enum Flood {
    Nothing,
    BadLinksOneSource,
    BadLinksManySources,
    NewPasswords,
}

/// Loopback addresses per flooder in the many-sources phase: enough that none reaches the
/// throttle's limit in a 5 s phase, few enough that their kept-alive connections stay within
/// the usual limit of open files.
const SOURCES_PER_FLOODER: usize = 40;

const USER: &str = "flood-victim@cats.test";
const PASSWORD: &str = "victim-password-123";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = FloodArgs::parse();
    let mut bench = Bench::start(args.mode, |_| {}).await?;
    let (base, admin) = (bench.base.clone(), bench.admin.clone());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()?;
    let r = http
        .post(format!("{base}/api/iam/accounts"))
        .bearer_auth(&admin)
        .json(&json!({"email": USER, "name": "Victim", "roles": ["client"], "password": PASSWORD}))
        .send()
        .await?;
    anyhow::ensure!(
        r.status().is_success(),
        "creating the account: {}",
        r.status()
    );

    let mut phases = serde_json::Map::new();
    for (name, flood) in [
        ("quiet", Flood::Nothing),
        ("bad_links_one_source", Flood::BadLinksOneSource),
        ("bad_links_many_sources", Flood::BadLinksManySources),
        ("new_password_hashes", Flood::NewPasswords),
    ] {
        let tally = Tally::new(&[200, 201, 410, 429]);
        let flooders = if flood == Flood::Nothing {
            0
        } else if flood == Flood::NewPasswords {
            // Each is a whole argon2 hash: a few suffice to keep the pool full.
            args.concurrency.min(8)
        } else {
            args.concurrency
        };
        // Many sources: clients bound to addresses of each flooder's own, built before the
        // phase starts so it measures the server, not the building of clients.
        let mut sources: Vec<Vec<reqwest::Client>> = Vec::new();
        for worker in 0..flooders {
            sources.push(if flood == Flood::BadLinksManySources {
                (0..SOURCES_PER_FLOODER)
                    .map(|n| {
                        let ip = Ipv4Addr::new(127, 1 + (worker % 250) as u8, 0, 1 + n as u8);
                        reqwest::Client::builder()
                            .local_address(IpAddr::V4(ip))
                            .build()
                    })
                    .collect::<Result<_, _>>()?
            } else {
                Vec::new()
            });
        }
        let end = Instant::now() + Duration::from_secs_f64(args.seconds);
        let mut tasks = Vec::new();
        for (worker, sources) in sources.into_iter().enumerate() {
            let (http, base, admin, tally) =
                (http.clone(), base.clone(), admin.clone(), tally.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = 0u64;
                while Instant::now() < end {
                    i += 1;
                    let sent = match flood {
                        Flood::NewPasswords => {
                            http.post(format!("{base}/api/iam/accounts"))
                                .bearer_auth(&admin)
                                .json(&json!({
                                    "email": format!("new-{worker}-{i}@flood.test"),
                                    "name": "New", "roles": ["client"],
                                    "password": "a-new-long-password",
                                }))
                                .send()
                                .await
                        }
                        Flood::BadLinksManySources => {
                            let own = &sources[i as usize % sources.len()];
                            set_password(own, &base, worker, i).await
                        }
                        _ => set_password(&http, &base, worker, i).await,
                    };
                    tally.count(sent.ok().map(|r| r.status().as_u16()));
                }
            }));
        }
        // Meanwhile, a person signs in again and again.
        let bench = &bench;
        let sign_ins = probe_until(end, Duration::from_millis(50), || async move {
            anyhow::Ok(bench.login(USER, PASSWORD).await.is_ok())
        })
        .await?;
        for t in tasks {
            t.await?;
        }
        let n = |status| tally.of(status);
        phases.insert(
            name.into(),
            json!({
                "flooders": flooders,
                "flood_answers": {
                    "200": n(200), "201": n(201), "410_gone": n(410), "429_throttled": n(429),
                    "other": tally.other(),
                },
                "sign_ins": sign_ins.latencies_ms.len(),
                "sign_ins_failed": sign_ins.failed,
                "sign_in_p50_ms": sign_ins.quantile(0.5),
                "sign_in_p99_ms": sign_ins.quantile(0.99),
                "sign_in_max_ms": sign_ins.latencies_ms.last().copied().unwrap_or(f64::NAN),
            }),
        );
        // Let throttles and queues settle between phases.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    bench.stop_services().await;
    args.print_report(
        (
            "hash_concurrency",
            bench.config.services["iam"]["hash_concurrency"].clone(),
        ),
        phases,
        "in-process system; a sign-in is the sign-in form (argon2 check) and the code exchange",
    )
}

/// One set-password request with a link that does not exist.
async fn set_password(
    http: &reqwest::Client,
    base: &str,
    worker: usize,
    i: u64,
) -> reqwest::Result<reqwest::Response> {
    http.post(format!("{base}/api/iam/password"))
        .form(&[
            ("token", format!("made-up-link-{worker}-{i}")),
            ("password", "flood-password-123".to_owned()),
        ])
        .send()
        .await
}
