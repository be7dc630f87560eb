//! What the benchmarks share: starting the whole system in-process in either mode (in
//! distributed mode with its own durable PostgreSQL and NATS), signing in as the first
//! admin, reading this process's memory figures, and for the floods, counting answers by
//! status ([`Tally`]) while timing a probe ([`probe_until`]). Module [`costs`] measures what
//! a run costs per order (transactions, statements, events, CPU, bytes written).

pub mod costs;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::ValueEnum;
use mcf::Config;
use mcf::system::{self, Running};

/// Where the system runs.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum Mode {
    Embedded,
    Distributed,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Embedded => "embedded",
            Mode::Distributed => "distributed",
        }
    }
}

/// The command line of a flood benchmark (`hiring-flood`, `iam-flood`).
#[derive(clap::Parser)]
#[command(
    about = "Floods a public endpoint phase by phase while timing a normal call; prints JSON"
)]
pub struct FloodArgs {
    #[arg(long, value_enum, default_value = "embedded")]
    pub mode: Mode,
    /// Seconds each phase (a flood, or the quiet before) lasts.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Concurrent flooding connections.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
}

impl FloodArgs {
    /// Prints a flood's report as JSON: the mode, these arguments, the system's `setting`
    /// the flood is against (a name and its value), the `phases` and a `note` on what the
    /// figures cover.
    pub fn print_report(
        &self,
        setting: (&str, serde_json::Value),
        phases: serde_json::Map<String, serde_json::Value>,
        note: &str,
    ) -> anyhow::Result<()> {
        let mut report = serde_json::json!({
            "mode": self.mode.name(),
            "seconds": self.seconds,
            "concurrency": self.concurrency,
            "phases": phases,
            "note": note,
        });
        report[setting.0] = setting.1;
        println!("{}", serde_json::to_string_pretty(&report)?);
        Ok(())
    }
}

const ADMIN_PASSWORD: &str = "bench-admin-password";

/// A running system under benchmark. Dropping it removes its servers and data.
pub struct Bench {
    running: Option<Running>,
    /// Distributed with [`Setup::processes`]: one `mcf serve` process per service.
    processes: Vec<ServiceProcess>,
    pub mode: Mode,
    pub config: Config,
    /// `http://addr` (with [`Setup::processes`], IAM's process).
    pub base: String,
    /// An access token of the first admin.
    pub admin: String,
    postgres: Option<testing::Postgres>,
    nats: Option<NatsServers>,
    _dir: tempfile::TempDir,
}

/// The NATS the distributed system runs on: one server, or a three-node cluster.
enum NatsServers {
    One(testing::Nats),
    Cluster(testing::NatsCluster),
}

/// What kind of system [`Bench::start_with`] starts besides its mode.
#[derive(Clone, Copy, Debug, Default)]
pub struct Setup {
    /// Distributed mode: a three-node NATS cluster with streams kept in three replicas
    /// (`messaging.nats_replicas = 3`) instead of one server.
    pub nats_cluster: bool,
    /// Distributed mode: each service in an `mcf serve` process of its own (the `mcf`
    /// binary beside this one, or `$BENCH_MCF_BIN`), as deployed, so each one's CPU time can be
    /// read; otherwise all of them in this process.
    pub processes: bool,
}

/// One `mcf serve <service>` process.
struct ServiceProcess {
    service: &'static str,
    child: std::process::Child,
    /// `http://addr`.
    base: String,
}

impl ServiceProcess {
    /// Asks the process to stop (SIGTERM), then kills it if it has not within 10 s.
    fn stop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `mcf` binary: `$BENCH_MCF_BIN` (not `MCF_`: those are `mcf`'s configuration), else
/// the one built beside this benchmark.
fn mcf_binary() -> anyhow::Result<std::path::PathBuf> {
    if let Ok(bin) = std::env::var("BENCH_MCF_BIN") {
        return Ok(bin.into());
    }
    let exe = std::env::current_exe()?;
    let bin = exe.with_file_name("mcf");
    anyhow::ensure!(
        bin.exists(),
        "{} not found: build it (cargo build --release -p mcf) or set BENCH_MCF_BIN",
        bin.display()
    );
    Ok(bin)
}

/// Starts one `mcf serve` process per service, in the registry's order (callees before
/// callers), each told where the ones before it are; returns them once each listens.
fn spawn_processes(config: &Config, dir: &std::path::Path) -> anyhow::Result<Vec<ServiceProcess>> {
    use std::io::BufRead;
    let bin = mcf_binary()?;
    // The system secret the processes share for service-to-service calls.
    let mut random = [0u8; 32];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut random)?;
    let secret: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let mut processes: Vec<ServiceProcess> = Vec::new();
    for &service in system::SERVICES {
        let mut cmd = std::process::Command::new(&bin);
        cmd.args(["serve", service, "--listen", "127.0.0.1:0"]);
        // `MCF_*` variables are `mcf`'s configuration: only the ones set here, not this
        // process's (MCF_BENCH_LOG would be an unknown key).
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("MCF_") {
                cmd.env_remove(name);
            }
        }
        for (name, url) in &config.databases {
            cmd.env(format!("MCF_DATABASES__{}", name.to_ascii_uppercase()), url);
        }
        if let Some(iam) = processes.first() {
            cmd.env("MCF_AUTH__ISSUER", format!("{}/api/iam", iam.base));
        }
        for p in &processes {
            cmd.env(
                format!("MCF_PEERS__{}", p.service.to_ascii_uppercase()),
                format!("{}/api/{}", p.base, p.service),
            );
        }
        let log = std::fs::File::create(dir.join(format!("{service}.log")))?;
        cmd.env("MCF_NATS__URL", &config.nats.url)
            .env("MCF_AUTH__SERVICE_SECRET", &secret)
            .env("MCF_LOG__LEVEL", &config.log.level)
            .env("RUST_LOG", &config.log.level)
            .env("MCF_IAM__BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env(
                "MCF_MESSAGING__CONSUMER_BATCH",
                config.messaging.consumer_batch.to_string(),
            )
            .env(
                "MCF_MESSAGING__NATS_REPLICAS",
                config.messaging.nats_replicas.to_string(),
            )
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(log);
        let mut child = cmd
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the address it prints, then keeps the pipe drained.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(
                        rest.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
            }
        });
        let base = rx.recv_timeout(Duration::from_secs(120)).map_err(|_| {
            let log =
                std::fs::read_to_string(dir.join(format!("{service}.log"))).unwrap_or_default();
            anyhow::anyhow!("mcf serve {service} did not start:\n{log}")
        })?;
        processes.push(ServiceProcess {
            service,
            child,
            base,
        });
    }
    Ok(processes)
}

impl Bench {
    /// Starts every service with durable settings; `tweak` adjusts the configuration first.
    pub async fn start(mode: Mode, tweak: impl FnOnce(&mut Config)) -> anyhow::Result<Bench> {
        Self::start_with(mode, Setup::default(), tweak).await
    }

    /// Like [`Bench::start`], on the [`Setup`] asked for. Distributed, PostgreSQL counts
    /// statements (`pg_stat_statements`, read by [`costs`]).
    pub async fn start_with(
        mode: Mode,
        setup: Setup,
        tweak: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Bench> {
        let dir = tempfile::Builder::new().prefix("mcf-bench-").tempdir()?;
        let mut config = Config::defaults();
        config.http.listen = "127.0.0.1:0".into();
        config.embedded.data_dir = dir.path().join("data");
        config.log.level = "error".into();
        config.set("iam.bootstrap_admin_password", ADMIN_PASSWORD)?;
        tweak(&mut config);
        let mut processes = Vec::new();
        let (running, postgres, nats) = match mode {
            Mode::Embedded => (Some(system::start_embedded(&config).await?), None, None),
            Mode::Distributed => {
                let pg = testing::Postgres::start_durable_with(&[(
                    "shared_preload_libraries",
                    "pg_stat_statements",
                )])?;
                costs::prepare_postgres(&pg.url("postgres")).await?;
                let nats = if setup.nats_cluster {
                    config.messaging.nats_replicas = 3;
                    NatsServers::Cluster(testing::NatsCluster::start()?)
                } else {
                    NatsServers::One(testing::Nats::start()?)
                };
                for service in system::SERVICES {
                    let url = pg.url(&format!("bench_{service}"));
                    config.databases.insert((*service).to_owned(), url);
                }
                config.nats.url = match &nats {
                    NatsServers::One(n) => n.url(),
                    NatsServers::Cluster(c) => c.url(),
                };
                if setup.processes {
                    processes = spawn_processes(&config, dir.path())?;
                    (None, Some(pg), Some(nats))
                } else {
                    let all: Vec<String> =
                        system::SERVICES.iter().map(|s| (*s).to_owned()).collect();
                    let running = system::start_distributed(&config, &all).await?;
                    (Some(running), Some(pg), Some(nats))
                }
            }
        };
        let base = match (&running, processes.first()) {
            (Some(running), _) => format!("http://{}", running.addr),
            (None, Some(iam)) => iam.base.clone(),
            (None, None) => anyhow::bail!("no service started"),
        };
        let redirect = web_redirect(&config)?;
        let admin_email = config.services["iam"]["bootstrap_admin_email"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let admin =
            mcf::login::access_token(&base, &admin_email, ADMIN_PASSWORD, &redirect).await?;
        Ok(Bench {
            running,
            processes,
            mode,
            config,
            base,
            admin,
            postgres,
            nats,
            _dir: dir,
        })
    }

    /// Stops the services; the database servers stay (for measuring them afterwards).
    pub async fn stop_services(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
        let mut processes = std::mem::take(&mut self.processes);
        let _ = tokio::task::spawn_blocking(move || {
            for p in &mut processes {
                p.stop();
            }
        })
        .await;
    }

    /// Where `service`'s API is: `http://addr` (the same for every service unless each runs
    /// in a process of its own).
    pub fn service_base(&self, service: &str) -> &str {
        self.processes
            .iter()
            .find(|p| p.service == service)
            .map_or(&self.base, |p| &p.base)
    }

    /// With [`Setup::processes`], each service's process id.
    pub fn service_pids(&self) -> Vec<(&'static str, u32)> {
        self.processes
            .iter()
            .map(|p| (p.service, p.child.id()))
            .collect()
    }

    /// A scratch directory that lives as long as the bench.
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The PostgreSQL server (distributed mode).
    pub fn postgres(&self) -> Option<&testing::Postgres> {
        self.postgres.as_ref()
    }

    /// The PostgreSQL postmaster's process id (distributed mode).
    pub fn postgres_pid(&self) -> Option<u32> {
        self.postgres.as_ref().and_then(testing::Postgres::pid)
    }

    /// The process ids of the NATS servers (distributed mode; empty embedded).
    pub fn nats_pids(&self) -> Vec<u32> {
        match &self.nats {
            Some(NatsServers::One(n)) => n.pid().into_iter().collect(),
            Some(NatsServers::Cluster(c)) => c.pids(),
            None => Vec::new(),
        }
    }

    /// The URL of `service`'s database: its SQLite file, or its PostgreSQL database.
    pub fn db_url(&self, service: &str) -> anyhow::Result<String> {
        Ok(match self.mode {
            Mode::Embedded => system::embedded_db_url(&self.config, service),
            Mode::Distributed => self.config.database_url(service)?.to_owned(),
        })
    }

    /// Signs in as `email` through the same flow a web app uses.
    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let redirect = web_redirect(&self.config)?;
        mcf::login::access_token(&self.base, email, password, &redirect).await
    }
}

/// The first redirect URI of the web client (`iam.web_redirect_uris`), where sign-ins land.
fn web_redirect(config: &Config) -> anyhow::Result<String> {
    config.services["iam"]["web_redirect_uris"][0]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("iam.web_redirect_uris is empty"))
}

/// The `q` quantile (0..=1) of `sorted` samples (ascending), by rank; NaN when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

/// A `/proc/self/status` figure in KiB (`VmHWM` peak, `VmRSS` now); 0 where /proc is missing.
pub fn memory_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// How a flood was answered: a count per status of interest, and one for the rest
/// (other statuses and requests that got no answer). Cheap to clone: every flooder counts
/// into the same one, without a lock.
#[derive(Clone)]
pub struct Tally {
    statuses: &'static [u16],
    /// One per status, then "other".
    counts: Arc<[AtomicU64]>,
}

impl Tally {
    /// Counts `statuses` apart; anything else is "other".
    pub fn new(statuses: &'static [u16]) -> Self {
        let counts = (0..=statuses.len()).map(|_| AtomicU64::new(0)).collect();
        Tally { statuses, counts }
    }

    /// Counts one answer: its status, or none when the request failed.
    pub fn count(&self, status: Option<u16>) {
        let slot = status
            .and_then(|s| self.statuses.iter().position(|&known| known == s))
            .unwrap_or(self.statuses.len());
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
    }

    /// How many answers had `status` (one of those counted apart).
    pub fn of(&self, status: u16) -> u64 {
        let slot = self.statuses.iter().position(|&s| s == status);
        slot.map_or(0, |slot| self.counts[slot].load(Ordering::Relaxed))
    }

    /// How many had another status or no answer.
    pub fn other(&self) -> u64 {
        self.counts[self.statuses.len()].load(Ordering::Relaxed)
    }
}

/// What a probe measured while a flood ran: the latencies of the calls that succeeded (ms,
/// ascending) and how many did not.
pub struct Probed {
    pub latencies_ms: Vec<f64>,
    pub failed: u64,
}

impl Probed {
    /// The `q` quantile of the latencies (see [`quantile`]).
    pub fn quantile(&self, q: f64) -> f64 {
        quantile(&self.latencies_ms, q)
    }
}

/// Calls `probe` (`Ok(true)`: it succeeded) again and again, `pause` apart, until `end`,
/// timing each call. An `Err` stops the benchmark.
pub async fn probe_until<F, Fut>(
    end: Instant,
    pause: Duration,
    mut probe: F,
) -> anyhow::Result<Probed>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let mut probed = Probed {
        latencies_ms: Vec::new(),
        failed: 0,
    };
    while Instant::now() < end {
        let t = Instant::now();
        if probe().await? {
            probed.latencies_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        } else {
            probed.failed += 1;
        }
        tokio::time::sleep(pause).await;
    }
    probed.latencies_ms.sort_by(f64::total_cmp);
    Ok(probed)
}
