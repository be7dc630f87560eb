//! Flood benchmark of Hiring's public application endpoint: from one source, then from many
//! (through the trusted-proxy path: the system trusts 127.0.0.1's X-Forwarded-For). Prints
//! JSON: accepted, rejected (429), shed (503), the manager API's p99 during the flood, and
//! the server's memory growth. Not a test: nothing asserts on time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bench::{Bench, Mode, memory_kib};
use clap::Parser;
use serde_json::{Value, json};

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The many-sources flood comes through the trusted-proxy path.
    let mut bench = Bench::start(args.mode, |c| {
        c.set("hiring.public_limits.trusted_proxies", ["127.0.0.1"])
            .expect("a valid address");
    })
    .await?;
    let (base, admin) = (bench.base.clone(), bench.admin.clone());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()?;

    let mut phases = serde_json::Map::new();
    for (name, many) in [("one_source", false), ("many_sources", true)] {
        let rss_before = memory_kib("VmRSS");
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
        let p = |q: f64| bench::quantile(&latencies, q);
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
                "rss_growth_mib": (memory_kib("VmRSS") as f64 - rss_before as f64) / 1024.0,
            }),
        );
        // Let the buckets refill between phases.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    bench.stop_services().await;
    let report: Value = json!({
        "mode": args.mode.name(),
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "limits": bench.config.services["hiring"]["public_limits"],
        "phases": phases,
        "note": "in-process system; RSS is the whole process (services, and the bench client)",
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
