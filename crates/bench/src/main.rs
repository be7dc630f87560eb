//! The flow benchmark: drives N orders through request -> match -> activate at a chosen
//! rate, in embedded or distributed mode, and prints JSON figures. Not a test: nothing here
//! asserts on time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bench::{Bench, Mode, memory_kib};
use clap::Parser;
use mcf::system;
use serde_json::{Value, json};
use storage::{Db, DbOptions, Row};

#[derive(Parser)]
#[command(about = "MCF flow benchmark: prints JSON")]
struct Args {
    #[arg(long, value_enum, default_value = "embedded")]
    mode: Mode,
    /// Orders to drive through the flow.
    #[arg(long, default_value_t = 2000)]
    orders: usize,
    /// Offered load, orders per second (open loop).
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Workers (normal samples) registered before the run.
    #[arg(long, default_value_t = 50)]
    workers: usize,
    /// Seconds spent measuring the raw storage ceiling.
    #[arg(long, default_value_t = 3.0)]
    ceiling_seconds: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut bench = Bench::start(args.mode, |_| {}).await?;
    let api = format!("{}/api", bench.base);
    let admin = bench.admin.clone();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {admin}").parse()?,
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(60))
        .default_headers(headers)
        .build()?;
    // Orders are placed by one client (token lifetime covers a bench run).
    http.post(format!("{api}/iam/accounts"))
        .json(
            &json!({"email": "bench@cats.test", "name": "Bench", "roles": ["client"],
            "password": "bench-client-password"}),
        )
        .send()
        .await?
        .error_for_status()?;
    let client = bench
        .login("bench@cats.test", "bench-client-password")
        .await?;

    let st: Value = http
        .post(format!("{api}/ordering/service-types"))
        .json(&json!({"name": "Cleaning", "price": 120, "duration_minutes": 60}))
        .send()
        .await?
        .json()
        .await?;
    let st = st["id"]
        .as_str()
        .context("service type created")?
        .to_owned();
    for i in 0..args.workers {
        http.post(format!("{api}/matching/normal-samples"))
            .json(&json!({"name": format!("worker {i}"), "skills": {"cleaning": (i * 37) % 100}}))
            .send()
            .await?
            .error_for_status()?;
    }

    // Open loop: request i leaves at start + i / rate, whatever happened to the others.
    let start = Instant::now();
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut handles = Vec::with_capacity(args.orders);
    for i in 0..args.orders {
        let due = start + Duration::from_secs_f64(i as f64 / args.rate);
        tokio::time::sleep_until(due.into()).await;
        let http = http.clone();
        let url = format!("{api}/ordering/orders");
        let failures = failures.clone();
        // Spread scheduled times so availability does not filter everyone out.
        let at = chrono::Utc::now()
            + chrono::Duration::days(1)
            + chrono::Duration::minutes(i as i64 * 7);
        let body = json!({"service_type_id": st,
            "description": "benchmark job", "scheduled_at": at.to_rfc3339()});
        let client = client.clone();
        handles.push(tokio::spawn(async move {
            match http.post(url).bearer_auth(client).json(&body).send().await {
                Ok(r) if r.status().as_u16() == 201 => {}
                _ => {
                    failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
    }
    for h in handles {
        h.await?;
    }
    let offered_s = start.elapsed().as_secs_f64();
    let accepted = args.orders - failures.load(std::sync::atomic::Ordering::Relaxed);

    // Wait until every accepted order is active.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let counts: Value = http
            .get(format!("{api}/ordering/ops/orders"))
            .send()
            .await?
            .json()
            .await?;
        if counts["active"].as_u64().unwrap_or(0) as usize >= accepted {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "orders did not all become active: {counts}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let peak_rss_kib = memory_kib("VmHWM");

    // Latency from "request accepted" (the order row's requested_at) to "order active".
    let ordering_url = match args.mode {
        Mode::Embedded => system::embedded_db_url(&bench.config, "ordering"),
        Mode::Distributed => bench.config.database_url("ordering")?.to_owned(),
    };
    let db = Db::connect(&ordering_url, &DbOptions::default()).await?;
    let rows = storage::query(
        "SELECT requested_at, activated_at FROM orders WHERE activated_at IS NOT NULL",
    )
    .fetch_all(db.pool())
    .await?;
    let mut latencies: Vec<i64> = rows
        .iter()
        .map(|r| r.get::<i64, _>("activated_at") - r.get::<i64, _>("requested_at"))
        .collect();
    latencies.sort_unstable();
    let first = rows
        .iter()
        .map(|r| r.get::<i64, _>("requested_at"))
        .min()
        .unwrap_or(0);
    let last = rows
        .iter()
        .map(|r| r.get::<i64, _>("activated_at"))
        .max()
        .unwrap_or(0);
    let span_s = ((last - first) as f64 / 1e6).max(1e-6);
    let orders_per_s = latencies.len() as f64 / span_s;
    // requested, worker assigned, activated: three events per order.
    let events_per_s = 3.0 * latencies.len() as f64 / span_s;
    db.close().await;
    bench.stop_services().await;

    let ceiling = match args.mode {
        Mode::Embedded => {
            sqlite_ceiling(&bench.dir().join("ceiling.sqlite"), args.ceiling_seconds).await?
        }
        Mode::Distributed => {
            let pg = bench.postgres().expect("distributed mode runs PostgreSQL");
            postgres_ceiling(&pg.url("bench_ceiling"), args.ceiling_seconds).await?
        }
    };
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i] as f64 / 1000.0
    };
    let report = json!({
        "mode": args.mode.name(),
        "orders": args.orders,
        "accepted": accepted,
        "activated": latencies.len(),
        "offered_rate_per_s": args.rate,
        "offered_seconds": offered_s,
        "sustained_orders_per_s": orders_per_s,
        "latency_ms": {"p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99), "max": pct(1.0)},
        "events_per_s": events_per_s,
        "peak_rss_mib": peak_rss_kib as f64 / 1024.0,
        "storage_ceiling": ceiling,
        "orders_per_s_over_ceiling_tx_per_s":
            orders_per_s / ceiling["write_tx_per_s"].as_f64().unwrap_or(f64::NAN),
        "durability": match args.mode {
            Mode::Embedded => "SQLite WAL synchronous=FULL; bus log in SQLite",
            Mode::Distributed => "PostgreSQL fsync=on synchronous_commit=on; NATS sync_interval=always",
        },
        "note": "peak RSS is this process (the whole system in embedded mode; the services \
                 without PostgreSQL and NATS in distributed mode)",
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

const CEILING_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS ceiling (id BIGINT PRIMARY KEY, body TEXT NOT NULL)";

/// Small durable write transactions per second on SQLite with the system's settings (one
/// writer: SQLite serializes commits).
async fn sqlite_ceiling(path: &std::path::Path, seconds: f64) -> anyhow::Result<Value> {
    let db = Db::connect(&storage::sqlite_url(path), &DbOptions::default()).await?;
    storage::query(CEILING_TABLE).execute(db.pool()).await?;
    let n = write_loop(&db, 0, 1, seconds).await?;
    Ok(json!({"engine": "sqlite", "writers": 1, "write_tx_per_s": n as f64 / seconds}))
}

/// The same on PostgreSQL, with as many writers as the services use connections.
async fn postgres_ceiling(url: &str, seconds: f64) -> anyhow::Result<Value> {
    let db = Db::connect(url, &DbOptions::default()).await?;
    storage::query(CEILING_TABLE).execute(db.pool()).await?;
    let writers = 8;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            write_loop(&db, w, writers, seconds).await
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok(
        json!({"engine": "postgresql", "writers": writers, "write_tx_per_s": total as f64 / seconds}),
    )
}

async fn write_loop(db: &Db, offset: i64, stride: i64, seconds: f64) -> anyhow::Result<i64> {
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut n = 0;
    while Instant::now() < end {
        let mut tx = db.begin().await?;
        storage::query("INSERT INTO ceiling (id, body) VALUES ($1, $2)")
            .bind(offset + n * stride)
            .bind("a small row, like an outbox entry")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}
