//! The flow benchmark: drives N orders through request -> match -> activate at a chosen
//! rate, in embedded or distributed mode, and prints JSON figures. Not a test: nothing here
//! asserts on time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bench::{Bench, Mode, memory_kib, quantile};
use clap::Parser;
use mcf::system;
use serde_json::{Value, json};
use storage::{Db, DbOptions, Row};

#[derive(Parser)]
#[command(about = "MCF flow benchmark: prints JSON")]
struct Args {
    #[arg(long, value_enum, default_value = "embedded")]
    mode: Mode,
    /// Orders to drive through the flow (per step with --saturate).
    #[arg(long, default_value_t = 2000)]
    orders: usize,
    /// Offered load, orders per second (open loop); with --saturate, the first step's.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Find the highest offered rate whose request -> active p99 stays under --p99-ms:
    /// steps up by x1.5 from --rate until it does not, on one running system.
    #[arg(long)]
    saturate: bool,
    /// The p99 bound of --saturate, milliseconds.
    #[arg(long, default_value_t = 100.0)]
    p99_ms: f64,
    /// Workers (normal samples) registered before the run.
    #[arg(long, default_value_t = 50)]
    workers: usize,
    /// Deliveries a consumer applies in one transaction at most (`messaging.consumer_batch`;
    /// 1 turns batching off, to compare).
    #[arg(long)]
    consumer_batch: Option<usize>,
    /// Seconds spent measuring the raw storage ceiling.
    #[arg(long, default_value_t = 3.0)]
    ceiling_seconds: f64,
}

/// What the load driver needs between steps.
struct Driver {
    http: reqwest::Client,
    api: String,
    client: String,
    service_type: String,
    /// Orders placed so far: each gets its own time slot, so workers stay available.
    placed: usize,
    ordering: Db,
    mail: Db,
    inventory: Db,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // For looking inside a run, e.g. MCF_BENCH_LOG=sqlx::query=debug lists every statement
    // with its time and rows (to stderr; the figures stay alone on stdout).
    if let Ok(filter) = std::env::var("MCF_BENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let mut bench = Bench::start(args.mode, |config| {
        if let Some(n) = args.consumer_batch {
            config.messaging.consumer_batch = n;
        }
    })
    .await?;
    let mut driver = Driver::new(&bench, args.workers).await?;
    // The system started, signed in and set up, before any order.
    let idle_rss_kib = memory_kib("VmRSS");

    let mut steps = Vec::new();
    let mut rate = args.rate;
    loop {
        let step = driver.step(args.orders, rate).await?;
        let p99 = step["request_to_active_ms"]["p99"]
            .as_f64()
            .unwrap_or(f64::INFINITY);
        let within = p99 <= args.p99_ms;
        steps.push(step);
        if !args.saturate || !within || rate > 20_000.0 {
            break;
        }
        rate *= 1.5;
    }
    let peak_rss_kib = memory_kib("VmHWM");
    driver.close().await;
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
    let ceiling_tx = ceiling["write_tx_per_s"].as_f64().unwrap_or(f64::NAN);
    for step in &mut steps {
        let sustained = step["sustained_orders_per_s"].as_f64().unwrap_or(f64::NAN);
        step["orders_per_s_over_ceiling_tx_per_s"] = json!(sustained / ceiling_tx);
    }
    let mut report = json!({
        "mode": args.mode.name(),
        "idle_rss_mib": idle_rss_kib as f64 / 1024.0,
        "peak_rss_mib": peak_rss_kib as f64 / 1024.0,
        "storage_ceiling": ceiling,
        "durability": match args.mode {
            Mode::Embedded => "SQLite WAL synchronous=FULL; bus log in SQLite",
            Mode::Distributed => "PostgreSQL fsync=on synchronous_commit=on; NATS sync_interval=always",
        },
        "note": "RSS is this process (the whole system in embedded mode; the services \
                 without PostgreSQL and NATS in distributed mode); settled = the order is \
                 active, its client's mail is queued and its supply kit exists",
    });
    if args.saturate {
        let best = steps
            .iter()
            .filter(|s| {
                s["request_to_active_ms"]["p99"]
                    .as_f64()
                    .unwrap_or(f64::INFINITY)
                    <= args.p99_ms
            })
            .filter_map(|s| s["offered_rate_per_s"].as_f64())
            .fold(None, |best: Option<f64>, r| {
                Some(best.map_or(r, |b| b.max(r)))
            });
        report["saturation"] = json!({
            "p99_bound_ms": args.p99_ms,
            "highest_offered_rate_within_bound": best,
            "steps": steps,
        });
    } else {
        report["run"] = steps.pop().unwrap_or_default();
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

impl Driver {
    /// Signs a client in, creates a service type and `workers` workers.
    async fn new(bench: &Bench, workers: usize) -> anyhow::Result<Driver> {
        let api = format!("{}/api", bench.base);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {}", bench.admin).parse()?,
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
        let service_type = st["id"]
            .as_str()
            .context("service type created")?
            .to_owned();
        for i in 0..workers {
            http.post(format!("{api}/matching/normal-samples"))
                .json(
                    &json!({"name": format!("worker {i}"), "skills": {"cleaning": (i * 37) % 100}}),
                )
                .send()
                .await?
                .error_for_status()?;
        }
        let db = |service: &str| -> anyhow::Result<String> {
            Ok(match bench.mode {
                Mode::Embedded => system::embedded_db_url(&bench.config, service),
                Mode::Distributed => bench.config.database_url(service)?.to_owned(),
            })
        };
        let options = DbOptions::default();
        Ok(Driver {
            http,
            api,
            client,
            service_type,
            placed: 0,
            ordering: Db::connect(&db("ordering")?, &options).await?,
            mail: Db::connect(&db("mail")?, &options).await?,
            inventory: Db::connect(&db("inventory")?, &options).await?,
        })
    }

    async fn close(&self) {
        for db in [&self.ordering, &self.mail, &self.inventory] {
            db.close().await;
        }
    }

    /// Offers `orders` orders at `rate` per second (open loop), waits until each is settled
    /// and reports the step's figures.
    async fn step(&mut self, orders: usize, rate: f64) -> anyhow::Result<Value> {
        let since = storage::micros(chrono::Utc::now());
        let start = Instant::now();
        let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut handles = Vec::with_capacity(orders);
        for i in 0..orders {
            // Open loop: request i leaves at start + i / rate, whatever happened to the others.
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
            let http = self.http.clone();
            let url = format!("{}/ordering/orders", self.api);
            let failures = failures.clone();
            // Spread scheduled times so availability does not filter everyone out.
            let slot = (self.placed + i) as i64;
            let at = chrono::Utc::now()
                + chrono::Duration::days(1)
                + chrono::Duration::minutes(slot * 7);
            let body = json!({"service_type_id": self.service_type,
                "description": "benchmark job", "scheduled_at": at.to_rfc3339()});
            let client = self.client.clone();
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
        self.placed += orders;
        let offered_s = start.elapsed().as_secs_f64();
        let accepted = orders - failures.load(std::sync::atomic::Ordering::Relaxed);

        // Wait until every accepted order of this step is settled.
        let deadline = Instant::now() + Duration::from_secs(600);
        // Counted cheaply while waiting (this runs beside the system under test); the rows
        // are read once, at the end.
        loop {
            let done = self.settled_count(since).await?;
            if done >= accepted {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "orders did not all settle: {done} of {accepted}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let settled = self.settled(since).await?;
        let mut active: Vec<i64> = settled.iter().map(|o| o.active - o.requested).collect();
        let mut settle: Vec<i64> = settled.iter().map(|o| o.settled - o.requested).collect();
        let first = settled.iter().map(|o| o.requested).min().unwrap_or(0);
        let last = settled.iter().map(|o| o.active).max().unwrap_or(0);
        let span_s = ((last - first) as f64 / 1e6).max(1e-6);
        Ok(json!({
            "orders": orders,
            "accepted": accepted,
            "offered_rate_per_s": rate,
            "offered_seconds": offered_s,
            "sustained_orders_per_s": settled.len() as f64 / span_s,
            // requested, worker assigned, activated: three events per order.
            "events_per_s": 3.0 * settled.len() as f64 / span_s,
            "request_to_active_ms": percentiles(&mut active),
            "request_to_settled_ms": percentiles(&mut settle),
        }))
    }

    /// A lower bound of how many orders requested since `since` are settled: the least of
    /// the activations, the activation mails and the kits since then.
    async fn settled_count(&self, since: i64) -> anyhow::Result<usize> {
        let count = |db: &Db, sql: &'static str| {
            let pool = db.pool().clone();
            async move {
                let n: i64 = storage::query_scalar(sql)
                    .bind(since)
                    .fetch_one(&pool)
                    .await?;
                anyhow::Ok(usize::try_from(n).unwrap_or(0))
            }
        };
        let active = count(
            &self.ordering,
            "SELECT COUNT(*) FROM orders WHERE requested_at >= $1 AND activated_at IS NOT NULL",
        )
        .await?;
        let mails = count(
            &self.mail,
            "SELECT COUNT(*) FROM messages WHERE created_at >= $1 \
             AND idempotency_key LIKE 'activated:%'",
        )
        .await?;
        let kits = count(
            &self.inventory,
            "SELECT COUNT(*) FROM kits WHERE created_at >= $1",
        )
        .await?;
        Ok(active.min(mails).min(kits))
    }

    /// The orders requested since `since` (unix µs) whose every consequence is done, with
    /// their times: active (Ordering), the client's mail queued (Mail), the kit (Inventory).
    async fn settled(&self, since: i64) -> anyhow::Result<Vec<Settled>> {
        let rows = storage::query(
            "SELECT id, requested_at, activated_at FROM orders \
             WHERE requested_at >= $1 AND activated_at IS NOT NULL",
        )
        .bind(since)
        .fetch_all(self.ordering.pool())
        .await?;
        let mut mails = std::collections::HashMap::new();
        for r in storage::query(
            "SELECT idempotency_key, created_at FROM messages \
             WHERE created_at >= $1 AND idempotency_key LIKE 'activated:%'",
        )
        .bind(since)
        .fetch_all(self.mail.pool())
        .await?
        {
            let key: String = r.get("idempotency_key");
            if let Some(order) = key.split(':').nth(1) {
                mails.insert(order.to_owned(), r.get::<i64, _>("created_at"));
            }
        }
        let mut kits = std::collections::HashMap::new();
        for r in storage::query("SELECT order_id, created_at FROM kits WHERE created_at >= $1")
            .bind(since)
            .fetch_all(self.inventory.pool())
            .await?
        {
            kits.insert(
                r.get::<String, _>("order_id"),
                r.get::<i64, _>("created_at"),
            );
        }
        Ok(rows
            .iter()
            .filter_map(|r| {
                let id: String = r.get("id");
                let active: i64 = r.get("activated_at");
                let mail = *mails.get(&id)?;
                let kit = *kits.get(&id)?;
                Some(Settled {
                    requested: r.get("requested_at"),
                    active,
                    settled: active.max(mail).max(kit),
                })
            })
            .collect())
    }
}

struct Settled {
    requested: i64,
    active: i64,
    settled: i64,
}

/// p50 / p95 / p99 / max of latencies in µs, as milliseconds.
fn percentiles(latencies: &mut [i64]) -> Value {
    latencies.sort_unstable();
    let ms: Vec<f64> = latencies.iter().map(|&us| us as f64 / 1000.0).collect();
    let pct = |q: f64| quantile(&ms, q);
    json!({"p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99), "max": pct(1.0)})
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
