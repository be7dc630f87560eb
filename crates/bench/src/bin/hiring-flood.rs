//! Flood benchmark of Hiring's public application endpoint: from one source, then from many
//! (through the trusted-proxy path: the system trusts 127.0.0.1's X-Forwarded-For). Prints
//! JSON: accepted, rejected (429), shed (503), the manager API's p99 during the flood, and
//! the server's memory growth. Not a test: nothing asserts on time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use mcf::Config;
use mcf::system;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum Mode {
    Embedded,
    Distributed,
}

#[derive(Parser)]
struct Args {
    #[arg(long, value_enum, default_value = "embedded")]
    mode: Mode,
    /// Seconds each flood lasts.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Concurrent flooding connections.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::Builder::new().prefix("mcf-flood-").tempdir()?;
    let mut config = Config::defaults();
    config.http.listen = "127.0.0.1:0".into();
    config.embedded.data_dir = dir.path().join("data");
    config.log.level = "error".into();
    config.iam.bootstrap_admin_password = "flood-admin-password".into();
    config.hiring.public_limits.trusted_proxies = vec!["127.0.0.1".parse()?];
    let mut servers = None;
    let running = match args.mode {
        Mode::Embedded => system::start_embedded(&config).await?,
        Mode::Distributed => {
            let pg = testing::Postgres::start_durable()?;
            let nats = testing::Nats::start()?;
            for (service, url) in [
                ("iam", &mut config.databases.iam),
                ("mail", &mut config.databases.mail),
                ("hiring", &mut config.databases.hiring),
                ("ordering", &mut config.databases.ordering),
                ("matching", &mut config.databases.matching),
            ] {
                *url = pg.url(&format!("flood_{service}"));
            }
            config.nats.url = nats.url();
            let all = system::SERVICES
                .iter()
                .map(|s| (*s).to_owned())
                .collect::<Vec<_>>();
            let running = system::start_distributed(&config, &all).await?;
            servers = Some((pg, nats));
            running
        }
    };
    let base = format!("http://{}", running.addr);
    let redirect = config.iam.web_redirect_uris[0].clone();
    let admin =
        mcf::login::access_token(&base, "admin@mcf.local", "flood-admin-password", &redirect)
            .await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()?;

    let mut phases = serde_json::Map::new();
    for (name, many) in [("one_source", false), ("many_sources", true)] {
        let rss_before = rss_kib();
        let counts: Arc<[AtomicU64; 4]> = Arc::new(Default::default());
        let end = Instant::now() + Duration::from_secs_f64(args.seconds);
        let mut flooders = Vec::new();
        for worker in 0..args.concurrency {
            let http = http.clone();
            let url = format!("{base}/api/hiring/applications");
            let counts = counts.clone();
            flooders.push(tokio::spawn(async move {
                let mut i = 0u64;
                while Instant::now() < end {
                    i += 1;
                    let mut req = http.post(&url).json(&json!({
                        "name": "Flood", "age": 3, "breed": "bot", "coat_colour": "grey",
                        "email": format!("{name}-{worker}-{i}@flood.test"),
                        "photo": "iVBORw0KGgoAAAAAAAAAAA==",
                    }));
                    if many {
                        let ip = format!("10.{}.{}.{}", worker % 250, (i / 250) % 250, i % 250);
                        req = req.header("x-forwarded-for", ip);
                    }
                    let slot = match req.send().await.map(|r| r.status().as_u16()) {
                        Ok(202) => 0,
                        Ok(429) => 1,
                        Ok(503) => 2,
                        _ => 3,
                    };
                    counts[slot].fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        // The manager API, meanwhile.
        let mut latencies = Vec::new();
        while Instant::now() < end {
            let t = Instant::now();
            let r = http
                .get(format!("{base}/api/hiring/applications?per_page=10"))
                .bearer_auth(&admin)
                .send()
                .await?;
            if r.status().is_success() {
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for f in flooders {
            f.await?;
        }
        latencies.sort_by(f64::total_cmp);
        let p = |q: f64| {
            latencies
                .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or(f64::NAN)
        };
        phases.insert(
            name.into(),
            json!({
                "accepted": counts[0].load(Ordering::Relaxed),
                "rejected_429": counts[1].load(Ordering::Relaxed),
                "shed_503": counts[2].load(Ordering::Relaxed),
                "other": counts[3].load(Ordering::Relaxed),
                "manager_api_requests": latencies.len(),
                "manager_api_p50_ms": p(0.5),
                "manager_api_p99_ms": p(0.99),
                "rss_growth_mib": (rss_kib() as f64 - rss_before as f64) / 1024.0,
            }),
        );
        // Let the buckets refill between phases.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    running.stop().await;
    let report: Value = json!({
        "mode": format!("{:?}", args.mode).to_lowercase(),
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "limits": config.hiring.public_limits,
        "phases": phases,
        "note": "in-process system; RSS is the whole process (services, and the bench client)",
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    drop(servers);
    Ok(())
}
