//! What the benchmarks share: starting the whole system in-process in either mode (in
//! distributed mode with its own durable PostgreSQL and NATS), signing in as the first
//! admin, reading this process's memory figures, and for the floods, counting answers by
//! status ([`Tally`]) while timing a probe ([`probe_until`]).

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
    pub mode: Mode,
    pub config: Config,
    /// `http://addr`.
    pub base: String,
    /// An access token of the first admin.
    pub admin: String,
    postgres: Option<testing::Postgres>,
    _nats: Option<testing::Nats>,
    _dir: tempfile::TempDir,
}

impl Bench {
    /// Starts every service with durable settings; `tweak` adjusts the configuration first.
    pub async fn start(mode: Mode, tweak: impl FnOnce(&mut Config)) -> anyhow::Result<Bench> {
        let dir = tempfile::Builder::new().prefix("mcf-bench-").tempdir()?;
        let mut config = Config::defaults();
        config.http.listen = "127.0.0.1:0".into();
        config.embedded.data_dir = dir.path().join("data");
        config.log.level = "error".into();
        config.set("iam.bootstrap_admin_password", ADMIN_PASSWORD)?;
        tweak(&mut config);
        let (running, postgres, nats) = match mode {
            Mode::Embedded => (system::start_embedded(&config).await?, None, None),
            Mode::Distributed => {
                let pg = testing::Postgres::start_durable()?;
                let nats = testing::Nats::start()?;
                for service in system::SERVICES {
                    let url = pg.url(&format!("bench_{service}"));
                    config.databases.insert((*service).to_owned(), url);
                }
                config.nats.url = nats.url();
                let all: Vec<String> = system::SERVICES.iter().map(|s| (*s).to_owned()).collect();
                let running = system::start_distributed(&config, &all).await?;
                (running, Some(pg), Some(nats))
            }
        };
        let base = format!("http://{}", running.addr);
        let redirect = web_redirect(&config)?;
        let admin_email = config.services["iam"]["bootstrap_admin_email"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let admin =
            mcf::login::access_token(&base, &admin_email, ADMIN_PASSWORD, &redirect).await?;
        Ok(Bench {
            running: Some(running),
            mode,
            config,
            base,
            admin,
            postgres,
            _nats: nats,
            _dir: dir,
        })
    }

    /// Stops the services; the database servers stay (for measuring them afterwards).
    pub async fn stop_services(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    /// A scratch directory that lives as long as the bench.
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The PostgreSQL server (distributed mode).
    pub fn postgres(&self) -> Option<&testing::Postgres> {
        self.postgres.as_ref()
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
