//! Flood benchmark of Hiring's public application endpoint: from one source, then from many
//! (through the trusted-proxy path: the system trusts 127.0.0.1's X-Forwarded-For). Prints
//! JSON: accepted, rejected (429), shed (503), the manager API's p99 during the flood, and
//! the server's memory growth. Not a test: nothing asserts on time.

use std::time::{Duration, Instant};

use bench::{Bench, FloodArgs, Tally, memory_kib, probe_until};
use clap::Parser;
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = FloodArgs::parse();
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
        let tally = Tally::new(&[202, 429, 503]);
        let end = Instant::now() + Duration::from_secs_f64(args.seconds);
        let mut flooders = Vec::new();
        for worker in 0..args.concurrency {
            let http = http.clone();
            let url = format!("{base}/api/hiring/applications");
            let tally = tally.clone();
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
                    tally.count(req.send().await.ok().map(|r| r.status().as_u16()));
                }
            }));
        }
        // The manager API, meanwhile.
        let (http, base, admin) = (&http, &base, &admin);
        let manager = probe_until(end, Duration::from_millis(20), || async move {
            let r = http
                .get(format!("{base}/api/hiring/applications?per_page=10"))
                .bearer_auth(admin)
                .send()
                .await?;
            anyhow::Ok(r.status().is_success())
        })
        .await?;
        for f in flooders {
            f.await?;
        }
        phases.insert(
            name.into(),
            json!({
                "accepted": tally.of(202),
                "rejected_429": tally.of(429),
                "shed_503": tally.of(503),
                "other": tally.other(),
                "manager_api_requests": manager.latencies_ms.len(),
                "manager_api_p50_ms": manager.quantile(0.5),
                "manager_api_p99_ms": manager.quantile(0.99),
                "rss_growth_mib": (memory_kib("VmRSS") as f64 - rss_before as f64) / 1024.0,
            }),
        );
        // Let the buckets refill between phases.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    bench.stop_services().await;
    args.print_report(
        (
            "limits",
            bench.config.services["hiring"]["public_limits"].clone(),
        ),
        phases,
        "in-process system; RSS is the whole process (services, and the bench client)",
    )
}
