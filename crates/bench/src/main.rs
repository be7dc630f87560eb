//! The flow benchmark: drives N orders through request -> match -> activate at a chosen
//! rate, in embedded or distributed mode, and prints JSON figures. Not a test: nothing here
//! asserts on time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use anyhow::Context;
use bench::costs::{self, Cpu, StatementCounter, StatementFigures};
use bench::{Bench, Mode, Setup, memory_kib, quantile};
use clap::Parser;
use mcf::system;
use serde_json::{Value, json};
use storage::{Db, DbOptions, Row};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

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
    /// Distributed mode: a three-node NATS cluster, streams in three replicas.
    #[arg(long)]
    nats_cluster: bool,
    /// Distributed mode: each service in an `mcf serve` process of its own (the `mcf`
    /// binary beside this one, or $BENCH_MCF_BIN), so each one's CPU time is read apart.
    #[arg(long)]
    processes: bool,
}

/// The driver's runtime, shut down without waiting when dropped: a runtime dropped inside
/// another one (an early error return from `main`) would panic.
struct DriverRuntime(Option<tokio::runtime::Runtime>);

impl DriverRuntime {
    fn handle(&self) -> tokio::runtime::Handle {
        self.0
            .as_ref()
            .expect("the runtime lives until dropped")
            .handle()
            .clone()
    }
}

impl Drop for DriverRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// What the load driver needs between steps.
struct Driver {
    http: reqwest::Client,
    /// `http://addr/api` per service.
    apis: BTreeMap<&'static str, String>,
    client: String,
    service_type: String,
    /// Orders placed so far: each gets its own time slot, so workers stay available.
    placed: usize,
    ordering: Db,
    mail: Db,
    inventory: Db,
    /// Every service's database, read for its event counts.
    services: BTreeMap<&'static str, Db>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Statements are counted by what sqlx reports of each (module `costs`); for looking
    // inside a run, e.g. MCF_BENCH_LOG=sqlx::query=debug lists every statement with its time
    // and rows (to stderr; the figures stay alone on stdout).
    let statements = StatementCounter::default();
    let log = std::env::var("MCF_BENCH_LOG").ok().map(|filter| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(EnvFilter::new(filter))
    });
    tracing_subscriber::registry()
        .with(
            statements
                .clone()
                .with_filter(Targets::new().with_target("sqlx::query", LevelFilter::DEBUG)),
        )
        .with(log)
        .init();
    let setup = Setup {
        nats_cluster: args.nats_cluster,
        processes: args.processes,
    };
    let mut bench = Bench::start_with(args.mode, setup, |config| {
        if let Some(n) = args.consumer_batch {
            config.messaging.consumer_batch = n;
        }
    })
    .await?;
    // The load comes from a runtime of its own, on threads named apart, so the CPU time of
    // the system under test can be told from the driver's.
    let driver_runtime = DriverRuntime(Some(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bench-driver")
            .enable_all()
            .build()?,
    ));
    let on_driver = driver_runtime.handle();
    let mut driver = {
        let (base, admin, workers) = (bench.base.clone(), bench.admin.clone(), args.workers);
        let mut urls = BTreeMap::new();
        let mut apis = BTreeMap::new();
        for service in system::SERVICES {
            urls.insert(*service, bench.db_url(service)?);
            apis.insert(*service, format!("{}/api", bench.service_base(service)));
        }
        let redirect = bench.config.services["iam"]["web_redirect_uris"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        on_driver
            .spawn(async move { Driver::new(base, admin, redirect, apis, urls, workers).await })
            .await??
    };
    // The system started, signed in and set up, before any order.
    let idle_rss_kib = memory_kib("VmRSS");

    // Costs are counted from a quiet system: the set-up's events all applied and (on
    // PostgreSQL) every backend's counts reported, which idle backends do within 10 s.
    driver = on_driver.spawn(driver.quiet()).await??;
    if args.mode == Mode::Distributed {
        tokio::time::sleep(Duration::from_millis(10_500)).await;
    }
    let ops_before = ops_counts(&bench).await?;
    let (before, driver_back) = on_driver
        .spawn(snapshot(
            driver,
            statements.clone(),
            bench.postgres_pid(),
            bench.nats_pids(),
            bench.service_pids(),
        ))
        .await??;
    driver = driver_back;
    let pg_before = postgres_counts(&bench).await?;

    let mut steps = Vec::new();
    let mut rate = args.rate;
    let orders_per_step = args.orders;
    loop {
        let (step, back) = on_driver
            .spawn(async move {
                let mut driver = driver;
                let step = driver.step(orders_per_step, rate).await;
                (step, driver)
            })
            .await?;
        driver = back;
        let step = step?;
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
    driver = on_driver.spawn(driver.quiet()).await??;
    let (after, driver) = on_driver
        .spawn(snapshot(
            driver,
            statements.clone(),
            bench.postgres_pid(),
            bench.nats_pids(),
            bench.service_pids(),
        ))
        .await??;
    let ops_after = ops_counts(&bench).await?;
    on_driver.spawn(async move { driver.close().await }).await?;
    bench.stop_services().await;
    // Backends report their counts when they disconnect.
    if args.mode == Mode::Distributed {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let pg_after = postgres_counts(&bench).await?;
    drop(driver_runtime);
    let orders: u64 = steps.iter().filter_map(|s| s["accepted"].as_u64()).sum();
    let costs = per_order_costs(
        orders,
        &before,
        &after,
        (&ops_before, &ops_after),
        pg_before.as_ref().zip(pg_after.as_ref()),
    );
    eprint!("{}", costs_table(&costs));

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
            Mode::Embedded => "SQLite WAL synchronous=FULL; bus log in SQLite (synchronous=NORMAL, its WAL fsynced before the relays mark their outbox rows)",
            Mode::Distributed => "PostgreSQL fsync=on synchronous_commit=on; NATS sync_interval=always",
        },
        "note": "RSS is this process (the whole system in embedded mode; the services \
                 without PostgreSQL and NATS in distributed mode); settled = the order is \
                 active, its client's mail is queued and its supply kit exists",
        "costs": costs,
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
    /// Signs a client in, creates a service type and `workers` workers; opens each
    /// service's database (`urls`) for reading.
    async fn new(
        base: String,
        admin: String,
        redirect: String,
        apis: BTreeMap<&'static str, String>,
        urls: BTreeMap<&'static str, String>,
        workers: usize,
    ) -> anyhow::Result<Driver> {
        let api = |service: &str| apis.get(service).cloned().unwrap_or_default();
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
        http.post(format!("{}/iam/accounts", api("iam")))
            .json(
                &json!({"email": "bench@cats.test", "name": "Bench", "roles": ["client"],
                "password": "bench-client-password"}),
            )
            .send()
            .await?
            .error_for_status()?;
        let client =
            mcf::login::access_token(&base, "bench@cats.test", "bench-client-password", &redirect)
                .await?;
        let st: Value = http
            .post(format!("{}/ordering/service-types", api("ordering")))
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
            http.post(format!("{}/matching/normal-samples", api("matching")))
                .json(
                    &json!({"name": format!("worker {i}"), "skills": {"cleaning": (i * 37) % 100}}),
                )
                .send()
                .await?
                .error_for_status()?;
        }
        // Embedded, a few connections per file are plenty for the reads here; distributed,
        // the same.
        let options = DbOptions {
            max_connections: 2,
            ..DbOptions::default()
        };
        let mut services = BTreeMap::new();
        for (service, url) in urls {
            services.insert(service, Db::connect(&url, &options).await?);
        }
        let db = |name: &str| {
            services
                .get(name)
                .cloned()
                .with_context(|| format!("no {name} database"))
        };
        Ok(Driver {
            http,
            apis,
            client,
            service_type,
            placed: 0,
            ordering: db("ordering")?,
            mail: db("mail")?,
            inventory: db("inventory")?,
            services,
        })
    }

    /// Waits until the system is quiet: no outbox holds an event and the events applied
    /// (inbox rows) stayed the same over six looks 250 ms apart (on a loaded machine a
    /// consumer of NATS may pause longer than a second).
    async fn quiet(self) -> anyhow::Result<Driver> {
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut last = None;
        let mut same = 0;
        loop {
            let mut pending = 0;
            let mut applied = 0;
            for db in self.services.values() {
                pending += costs::outbox_pending(db).await?;
                applied += costs::event_counts(db).await?.1;
            }
            if pending == 0 && last == Some(applied) {
                same += 1;
                if same >= 6 {
                    return Ok(self);
                }
            } else {
                same = 0;
            }
            last = Some(applied);
            anyhow::ensure!(
                Instant::now() < deadline,
                "the system did not become quiet: {pending} events in outboxes"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn close(&self) {
        for db in self.services.values() {
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
            let url = format!("{}/ordering/orders", self.apis["ordering"]);
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
            tokio::time::sleep(Duration::from_millis(50)).await;
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
            "/* mcf-bench */ SELECT COUNT(*) FROM orders WHERE requested_at >= $1 AND activated_at IS NOT NULL",
        )
        .await?;
        let mails = count(
            &self.mail,
            "/* mcf-bench */ SELECT COUNT(*) FROM messages WHERE created_at >= $1 \
             AND idempotency_key LIKE 'activated:%'",
        )
        .await?;
        let kits = count(
            &self.inventory,
            "/* mcf-bench */ SELECT COUNT(*) FROM kits WHERE created_at >= $1",
        )
        .await?;
        Ok(active.min(mails).min(kits))
    }

    /// The orders requested since `since` (unix µs) whose every consequence is done, with
    /// their times: active (Ordering), the client's mail queued (Mail), the kit (Inventory).
    async fn settled(&self, since: i64) -> anyhow::Result<Vec<Settled>> {
        let rows = storage::query(
            "/* mcf-bench */ SELECT id, requested_at, activated_at FROM orders \
             WHERE requested_at >= $1 AND activated_at IS NOT NULL",
        )
        .bind(since)
        .fetch_all(self.ordering.pool())
        .await?;
        let mut mails = std::collections::HashMap::new();
        for r in storage::query(
            "/* mcf-bench */ SELECT idempotency_key, created_at FROM messages \
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
        for r in storage::query(
            "/* mcf-bench */ SELECT order_id, created_at FROM kits WHERE created_at >= $1",
        )
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

/// The counters read before and after the measured steps (module `costs`).
struct Snapshot {
    at: Instant,
    statements: BTreeMap<String, StatementFigures>,
    process: Cpu,
    threads: BTreeMap<String, f64>,
    write_bytes: u64,
    /// Per service: events in its outbox and applied by its consumers.
    events: BTreeMap<&'static str, (u64, u64)>,
    /// PostgreSQL's CPU by database (`"server"`: its own processes and ended backends).
    postgres_cpu: BTreeMap<String, f64>,
    /// Each NATS server's CPU and bytes written.
    nats: Vec<(Cpu, u64)>,
    /// Each service process's CPU (distributed with --processes).
    services_cpu: BTreeMap<&'static str, Cpu>,
    load_average: String,
}

/// Reads the counters (on the driver's runtime, as the driver reads the databases).
async fn snapshot(
    driver: Driver,
    statements: StatementCounter,
    postgres: Option<u32>,
    nats: Vec<u32>,
    services: Vec<(&'static str, u32)>,
) -> anyhow::Result<(Snapshot, Driver)> {
    let mut events = BTreeMap::new();
    for (service, db) in &driver.services {
        events.insert(*service, costs::event_counts(db).await?);
    }
    let pid = std::process::id();
    let snapshot = Snapshot {
        at: Instant::now(),
        statements: statements.snapshot(),
        process: costs::process_cpu(pid).unwrap_or_default(),
        threads: costs::thread_cpu(),
        write_bytes: costs::write_bytes(pid).unwrap_or(0),
        events,
        postgres_cpu: postgres.map(costs::postgres_cpu).unwrap_or_default(),
        nats: nats
            .into_iter()
            .map(|pid| {
                (
                    costs::process_cpu(pid).unwrap_or_default(),
                    costs::write_bytes(pid).unwrap_or(0),
                )
            })
            .collect(),
        services_cpu: services
            .into_iter()
            .map(|(service, pid)| (service, costs::process_cpu(pid).unwrap_or_default()))
            .collect(),
        load_average: std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    };
    Ok((snapshot, driver))
}

/// Per service: SQLite write transactions and the `COMMIT`s that served them.
type OpsCounts = BTreeMap<&'static str, (u64, u64)>;

/// Embedded: each service's SQLite write transactions and the `COMMIT`s that served them
/// (`GET /ops/messaging`), since start. Empty on PostgreSQL, which counts its own.
async fn ops_counts(bench: &Bench) -> anyhow::Result<OpsCounts> {
    let mut counts = BTreeMap::new();
    if bench.mode != Mode::Embedded {
        return Ok(counts);
    }
    let http = reqwest::Client::new();
    for service in system::SERVICES {
        let ops: Value = http
            .get(format!("{}/api/{service}/ops/messaging", bench.base))
            .bearer_auth(&bench.admin)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let get = |k: &str| ops[k].as_u64().unwrap_or(0);
        counts.insert(*service, (get("write_transactions"), get("commits")));
    }
    Ok(counts)
}

/// Distributed: PostgreSQL's counters (module `costs`).
async fn postgres_counts(bench: &Bench) -> anyhow::Result<Option<costs::PostgresCounts>> {
    let Some(pg) = bench.postgres() else {
        return Ok(None);
    };
    let db = Db::connect(&pg.url("postgres"), &DbOptions::default()).await?;
    let counts = costs::postgres_counts(&db).await;
    db.close().await;
    Ok(Some(counts?))
}

/// Per order, what the run between `before` and `after` cost: per service and in total.
fn per_order_costs(
    orders: u64,
    before: &Snapshot,
    after: &Snapshot,
    ops: (&OpsCounts, &OpsCounts),
    postgres: Option<(&costs::PostgresCounts, &costs::PostgresCounts)>,
) -> Value {
    let n = orders.max(1) as f64;
    let per = |x: f64| x / n;
    let ms = |seconds: f64| seconds * 1000.0 / n;
    let diff = |a: u64, b: u64| b.saturating_sub(a) as f64;
    let seconds = after.at.duration_since(before.at).as_secs_f64();

    // Statements: count and time per order, in total and the most frequent.
    let mut statements: Vec<(String, f64, f64)> = after
        .statements
        .iter()
        .map(|(summary, a)| {
            let b = before.statements.get(summary).copied().unwrap_or_default();
            (
                summary.clone(),
                diff(b.count, a.count),
                (a.seconds - b.seconds).max(0.0),
            )
        })
        .filter(|(_, count, _)| *count > 0.0)
        .collect();
    statements.sort_by(|x, y| y.1.total_cmp(&x.1));
    let statement_count: f64 = statements.iter().map(|s| s.1).sum();
    let statement_seconds: f64 = statements.iter().map(|s| s.2).sum();
    let top: Vec<Value> = statements
        .iter()
        .take(25)
        .map(|(summary, count, secs)| {
            json!({"statement": summary, "per_order": per(*count), "ms_per_order": ms(*secs)})
        })
        .collect();

    // CPU of this process by thread kind; the driver's is not the system's.
    let mut threads = serde_json::Map::new();
    let mut driver_cpu = 0.0;
    for (name, a) in &after.threads {
        let b = before.threads.get(name).copied().unwrap_or(0.0);
        let used = (a - b).max(0.0);
        if name.starts_with("bench-driver") {
            driver_cpu += used;
        }
        threads.insert(name.clone(), json!(ms(used)));
    }
    let process_cpu = (after.process.own - before.process.own).max(0.0);
    let system_cpu = (process_cpu - driver_cpu).max(0.0);

    let mut services = serde_json::Map::new();
    for (service, &(published_after, applied_after)) in &after.events {
        let (published_before, applied_before) =
            before.events.get(service).copied().unwrap_or_default();
        let mut figures = json!({
            "events_published": per(diff(published_before, published_after)),
            "events_applied": per(diff(applied_before, applied_after)),
        });
        if let (Some(a), Some(b)) = (ops.1.get(service), ops.0.get(service)) {
            figures["write_transactions"] = json!(per(diff(b.0, a.0)));
            figures["commits"] = json!(per(diff(b.1, a.1)));
        }
        let database = format!("bench_{service}");
        if let Some((pb, pa)) = postgres {
            let b = pb.databases.get(&database).copied().unwrap_or_default();
            let a = pa.databases.get(&database).copied().unwrap_or_default();
            // The benchmark's own reads are statements outside a transaction: one each.
            let observer = diff(b.observer_statements, a.observer_statements);
            figures["transactions"] = json!(per((diff(b.commits, a.commits) - observer).max(0.0)));
            figures["rollbacks"] = json!(per(diff(b.rollbacks, a.rollbacks)));
            figures["statements"] = json!(per(diff(b.statements, a.statements)));
            figures["rows_written"] = json!(per(diff(b.rows_written, a.rows_written)));
        }
        if let (Some(a), Some(b)) = (
            after.services_cpu.get(service),
            before.services_cpu.get(service),
        ) {
            figures["cpu_ms"] = json!(ms((a.own - b.own).max(0.0)));
        }
        if !after.postgres_cpu.is_empty() {
            let b = before.postgres_cpu.get(&database).copied().unwrap_or(0.0);
            let a = after.postgres_cpu.get(&database).copied().unwrap_or(0.0);
            figures["postgres_cpu_ms"] = json!(ms((a - b).max(0.0)));
        }
        services.insert((*service).to_owned(), figures);
    }

    let mut report = json!({
        "orders": orders,
        "seconds": seconds,
        "load_average_before": before.load_average,
        "load_average_after": after.load_average,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "per_order": {
            "statements": per(statement_count),
            "statement_ms": ms(statement_seconds),
            "system_cpu_ms": ms(system_cpu),
            "driver_cpu_ms": ms(driver_cpu),
            "cpu_ms_by_thread": threads,
            "process_write_bytes": per(diff(before.write_bytes, after.write_bytes)),
        },
        "services": services,
        "top_statements": top,
        "note": "per order = counted between two quiet moments around the steps, divided by \
                 the orders accepted; statements are those sqlx ran in this process (the \
                 benchmark's own reads left out; SQLite's BEGIN/COMMIT are not statements \
                 there, PostgreSQL's are); system_cpu_ms = this process minus the driver's \
                 threads (embedded: the whole system; distributed: the services, one process)",
    });
    if !after.services_cpu.is_empty() {
        let total = |s: &Snapshot| s.services_cpu.values().map(|c| c.own).sum::<f64>();
        report["per_order"]["service_processes_cpu_ms"] =
            json!(ms((total(after) - total(before)).max(0.0)));
    }
    if let Some((pb, pa)) = postgres {
        let cpu = |s: &Snapshot| s.postgres_cpu.values().sum::<f64>();
        let transactions: f64 = pa
            .databases
            .iter()
            .filter(|(name, _)| name.starts_with("bench_"))
            .map(|(name, a)| {
                let b = pb.databases.get(name).copied().unwrap_or_default();
                (diff(b.commits, a.commits) - diff(b.observer_statements, a.observer_statements))
                    .max(0.0)
            })
            .sum();
        report["postgres"] = json!({
            "cpu_ms": ms((cpu(after) - cpu(before)).max(0.0)),
            "transactions": per(transactions),
            "wal_bytes": per(diff(pb.wal_bytes, pa.wal_bytes)),
            "wal_writes": per(diff(pb.wal_writes, pa.wal_writes)),
            "wal_syncs": per(diff(pb.wal_syncs, pa.wal_syncs)),
        });
    }
    if !after.nats.is_empty() {
        let cpu: f64 = after
            .nats
            .iter()
            .zip(&before.nats)
            .map(|((a, _), (b, _))| (a.own - b.own).max(0.0))
            .sum();
        let bytes: f64 = after
            .nats
            .iter()
            .zip(&before.nats)
            .map(|((_, a), (_, b))| diff(*b, *a))
            .sum();
        report["nats"] = json!({
            "servers": after.nats.len(),
            "cpu_ms": ms(cpu),
            "write_bytes": per(bytes),
        });
    }
    report
}

/// The per-order costs as a plain table (printed to stderr beside the JSON).
fn costs_table(costs: &Value) -> String {
    use std::fmt::Write;
    let f = |v: &Value| v.as_f64().map_or("-".to_owned(), |x| format!("{x:.2}"));
    let mut out = String::new();
    let per_order = &costs["per_order"];
    let _ = writeln!(
        out,
        "per order ({} orders): {} statements ({} ms), system CPU {} ms, driver CPU {} ms, \
         {} bytes written by this process",
        costs["orders"],
        f(&per_order["statements"]),
        f(&per_order["statement_ms"]),
        f(&per_order["system_cpu_ms"]),
        f(&per_order["driver_cpu_ms"]),
        f(&per_order["process_write_bytes"]),
    );
    // The table's columns: heading and the key of each service's figure.
    const COLUMNS: [(&str, &str); 8] = [
        ("published", "events_published"),
        ("applied", "events_applied"),
        ("write tx", "write_transactions"),
        ("commits", "commits"),
        ("pg tx", "transactions"),
        ("pg stmts", "statements"),
        ("pg cpu ms", "postgres_cpu_ms"),
        ("cpu ms", "cpu_ms"),
    ];
    let mut row = |first: &str, cells: Vec<String>| {
        let cells: String = cells.iter().map(|c| format!(" {c:>9}")).collect();
        let _ = writeln!(out, "{first:<10}{cells}");
    };
    row(
        "service",
        COLUMNS.iter().map(|(h, _)| h.to_string()).collect(),
    );
    if let Some(services) = costs["services"].as_object() {
        for (name, s) in services {
            row(name, COLUMNS.iter().map(|(_, k)| f(&s[*k])).collect());
        }
    }
    if costs["postgres"].is_object() {
        let pg = &costs["postgres"];
        let _ = writeln!(
            out,
            "postgresql: {} ms CPU, {} transactions, {} WAL bytes, {} WAL syncs",
            f(&pg["cpu_ms"]),
            f(&pg["transactions"]),
            f(&pg["wal_bytes"]),
            f(&pg["wal_syncs"]),
        );
    }
    if costs["nats"].is_object() {
        let nats = &costs["nats"];
        let _ = writeln!(
            out,
            "nats ({} servers): {} ms CPU, {} bytes written",
            nats["servers"],
            f(&nats["cpu_ms"]),
            f(&nats["write_bytes"]),
        );
    }
    out
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
