//! The system under chaos, run as operators run it: `mcf` processes that can be killed with
//! SIGKILL and started again on the same data. Embedded: one `mcf up` on a data directory.
//! Distributed: one `mcf serve <service>` per service (two for the replicated ones) on a
//! throw-away PostgreSQL and a three-node NATS cluster whose streams keep three replicas.
//! The cookie contractor and the bank are sandboxes in this process, so their faults can be
//! switched and what they did can be counted.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

/// Where the system runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Embedded,
    Distributed,
}

/// The services a distributed system runs two processes of (competing consumers).
const REPLICATED: &[&str] = &["ordering", "matching", "billing"];
/// The first admin's password in a chaos system.
pub const ADMIN_PASSWORD: &str = "chaos-admin-password";
/// The admin's e-mail (IAM's default bootstrap admin).
pub const ADMIN_EMAIL: &str = "admin@mcf.local";
/// The redirect URI the workload signs in with (registered for `mcf-web`).
pub const REDIRECT: &str = "http://chaos.test/callback";
const SERVICE_SECRET: &str = "chaos-system-service-secret";
const COOKIE_SECRET: &str = "chaos-cookie-contractor-secret";

/// One `mcf` process.
pub struct Proc {
    /// `embedded` or the service it serves.
    pub role: &'static str,
    port: u16,
    child: Option<Child>,
}

impl Proc {
    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A running system with its outside world.
pub struct System {
    pub mode: Mode,
    mcf: PathBuf,
    dir: tempfile::TempDir,
    pub pg: Option<testing::Postgres>,
    pub nats: Option<testing::NatsCluster>,
    pub procs: Vec<Proc>,
    env: Vec<(String, String)>,
    /// The cookie contractor (faults switchable, cookies countable).
    pub cookies: sandbox_cookies::Sandbox,
    /// The bank (faults switchable, statement readable).
    pub bank: sandbox_bank::Sandbox,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl System {
    /// Starts the system of `mode` with the `mcf` binary at `mcf`.
    pub async fn start(mode: Mode, mcf: PathBuf) -> anyhow::Result<System> {
        let dir = tempfile::Builder::new().prefix("mcf-chaos-").tempdir()?;
        let cookies = sandbox_cookies::Sandbox::new(sandbox_cookies::Settings {
            delay: Duration::from_millis(500),
            secret: COOKIE_SECRET.into(),
            faults: Default::default(),
        });
        let (cookie_addr, cookie_task) = cookies.clone().start("127.0.0.1:0").await?;
        let bank = sandbox_bank::Sandbox::new(sandbox_bank::Settings::default());
        let (bank_addr, bank_task) = bank.clone().start("127.0.0.1:0").await?;
        let (pg, nats) = match mode {
            Mode::Embedded => (None, None),
            Mode::Distributed => (
                // Durable: an immediate stop must lose nothing committed (the quick test
                // server's synchronous_commit=off loses the last commits, as a crash of
                // such a server would, which is not what the checker is to find).
                Some(testing::Postgres::start_durable().context("PostgreSQL")?),
                Some(testing::NatsCluster::start().context("NATS cluster")?),
            ),
        };
        let mut env: Vec<(String, String)> = vec![
            ("MCF_IAM__BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
            ("MCF_IAM__WEB_REDIRECT_URIS", format!("[\"{REDIRECT}\"]")),
            // The workload signs in once: its tokens must outlive the longest soak.
            ("MCF_IAM__ACCESS_TOKEN_TTL_S", "86400".into()),
            ("MCF_MESSAGING__POLL_INTERVAL_MS", "100".into()),
            // The workload moves business time (days, across week and month ends) through
            // Ordering's and Billing's `/ops/clock`; each process keeps the offset in its
            // database, so a process killed and restarted resumes it.
            ("MCF_CLOCK__ADJUSTABLE", "true".into()),
            // Check-ins open a day ahead, so the workers take up a job as soon as it is
            // theirs rather than polling for a quarter of an hour before it.
            ("MCF_ORDERING__CHECK_IN_EARLY_MINUTES", "1440".into()),
            ("MCF_MESSAGING__BACKOFF_INITIAL_MS", "50".into()),
            ("MCF_MESSAGING__BACKOFF_MAX_MS", "1000".into()),
            ("MCF_MESSAGING__NATS_ACK_WAIT_S", "5".into()),
            // Redeliveries during outages must not exhaust an event: dead letters are
            // what the checker looks for, so only a real poison message should make one.
            ("MCF_MESSAGING__MAX_DELIVER", "50".into()),
            ("MCF_MAIL__FILE_DIR", path(&dir, "mail")),
            ("MCF_MAIL__BACKOFF_INITIAL_MS", "50".into()),
            ("MCF_ORDERING__OBJECTS_URL", path(&dir, "objects")),
            (
                "MCF_INVENTORY__CONTRACTOR_URL",
                format!("http://{cookie_addr}"),
            ),
            ("MCF_INVENTORY__CONTRACTOR_SECRET", COOKIE_SECRET.into()),
            ("MCF_INVENTORY__CONTRACTOR_TIMEOUT_MS", "1000".into()),
            ("MCF_INVENTORY__CONTRACTOR_BACKOFF_MS", "50".into()),
            ("MCF_INVENTORY__COOKIE_CHECK_AFTER_MS", "2000".into()),
            ("MCF_INVENTORY__COOKIE_CHECK_EVERY_MS", "500".into()),
            ("MCF_INVENTORY__COOKIE_JOB_EVERY_MS", "200".into()),
            ("MCF_BILLING__BANK_URL", format!("http://{bank_addr}")),
            ("MCF_BILLING__BANK_TIMEOUT_MS", "1000".into()),
            ("MCF_BILLING__BANK_BACKOFF_MS", "50".into()),
            // Invoices whose bank answer was lost (in doubt) or that failed are tried again
            // within seconds, not hours, so the run settles; a lease left by a killed
            // process runs out as soon; the cycle job looks every second.
            ("MCF_BILLING__RETRY_INITIAL_MS", "500".into()),
            ("MCF_BILLING__RETRY_MAX_MS", "4000".into()),
            ("MCF_BILLING__BANK_LEASE_MS", "3000".into()),
            ("MCF_BILLING__BANK_BREAKER_COOL_DOWN_MS", "2000".into()),
            ("MCF_BILLING__CYCLE_EVERY_MS", "1000".into()),
            ("RUST_LOG", "warn".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let roles: Vec<&'static str> = match mode {
            Mode::Embedded => vec!["embedded"],
            Mode::Distributed => mcf::system::SERVICES
                .iter()
                .flat_map(|&s| std::iter::repeat_n(s, if REPLICATED.contains(&s) { 2 } else { 1 }))
                .collect(),
        };
        let ports: Vec<u16> = roles.iter().map(|_| testing::free_port()).collect();
        if let (Some(pg), Some(nats)) = (&pg, &nats) {
            // Every service reaches the others at their first process; tokens come from iam.
            for (role, port) in roles.iter().zip(&ports).rev() {
                let key = format!("MCF_PEERS__{}", role.to_ascii_uppercase());
                env.retain(|(k, _)| *k != key);
                env.push((key, format!("http://127.0.0.1:{port}/api/{role}")));
            }
            let iam = roles.iter().position(|r| *r == "iam").unwrap_or(0);
            env.push((
                "MCF_AUTH__ISSUER".into(),
                format!("http://127.0.0.1:{}/api/iam", ports[iam]),
            ));
            for name in mcf::system::SERVICES {
                env.push((
                    format!("MCF_DATABASES__{}", name.to_ascii_uppercase()),
                    pg.url(&format!("mcf_{name}")),
                ));
            }
            env.push(("MCF_NATS__URL".into(), nats.url()));
            env.push((
                "MCF_MESSAGING__NATS_REPLICAS".into(),
                nats.len().to_string(),
            ));
            env.push(("MCF_AUTH__SERVICE_SECRET".into(), SERVICE_SECRET.into()));
        }
        let mut system = System {
            mode,
            mcf,
            dir,
            pg,
            nats,
            procs: Vec::new(),
            env,
            cookies,
            bank,
            tasks: vec![cookie_task, bank_task],
        };
        // IAM first: the others fetch its keys when they start.
        let mut order: Vec<usize> = (0..roles.len()).collect();
        order.sort_by_key(|&i| roles[i] != "iam");
        system.procs = roles
            .iter()
            .zip(&ports)
            .map(|(&role, &port)| Proc {
                role,
                port,
                child: None,
            })
            .collect();
        for i in order {
            system.revive(i)?;
        }
        Ok(system)
    }

    /// `http://127.0.0.1:port/api/<service>` of the first process serving it.
    pub fn api(&self, service: &str) -> String {
        let p = self
            .procs
            .iter()
            .find(|p| p.role == service || p.role == "embedded")
            .unwrap_or(&self.procs[0]);
        format!("http://127.0.0.1:{}/api/{service}", p.port)
    }

    /// `http://127.0.0.1:port/api/<service>` of every process serving it (each replica
    /// keeps its own business clock: moving time means moving each).
    pub fn apis_of(&self, service: &str) -> Vec<String> {
        self.procs
            .iter()
            .filter(|p| p.role == service || p.role == "embedded")
            .map(|p| format!("http://127.0.0.1:{}/api/{service}", p.port))
            .collect()
    }

    /// The base URL of the process serving IAM (`http://127.0.0.1:port`).
    pub fn iam_base(&self) -> String {
        self.api("iam").trim_end_matches("/api/iam").to_owned()
    }

    /// Kills process `i` with SIGKILL.
    pub fn kill9(&mut self, i: usize) {
        self.procs[i].kill9();
    }

    /// Starts process `i` again on its port and data (after [`System::kill9`]), waiting
    /// until it listens.
    pub fn revive(&mut self, i: usize) -> anyhow::Result<()> {
        let (role, port) = (self.procs[i].role, self.procs[i].port);
        self.procs[i].kill9();
        let mut cmd = Command::new(&self.mcf);
        let listen = format!("127.0.0.1:{port}");
        match role {
            "embedded" => {
                cmd.args(["up", "--listen", &listen, "--data-dir"])
                    .arg(self.dir.path().join("data"));
            }
            service => {
                cmd.args(["serve", service, "--listen", &listen]);
            }
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("{role}.log")))?;
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        // A port freed by a kill can be taken meanwhile as some connection's ephemeral
        // port; the process then exits at once. Try again.
        for _ in 0..40 {
            let mut child = cmd.spawn().context("starting mcf")?;
            let stdout = child.stdout.take().context("mcf's stdout")?;
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if line.contains("listening on ") {
                        let _ = tx.send(());
                    }
                }
            });
            if rx.recv_timeout(Duration::from_secs(60)).is_ok() {
                self.procs[i].child = Some(child);
                return Ok(());
            }
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(250));
        }
        let log = std::fs::read_to_string(self.log_path(role)).unwrap_or_default();
        let from = log.char_indices().rev().nth(3000).map_or(0, |(i, _)| i);
        let tail = &log[from..];
        bail!("mcf {role} did not start; its log ends:\n{tail}")
    }

    /// Rebuilds Quality's timeline from the streams as an operator does: every process
    /// running Quality stopped (embedded: the one process), `mcf quality rebuild` (which
    /// forgets the timeline's consumers and empties the timeline), the processes started
    /// again, replaying every stream into it. Answers what the command said.
    pub fn rebuild_quality(&mut self) -> anyhow::Result<String> {
        let quality: Vec<usize> = (0..self.procs.len())
            .filter(|&i| matches!(self.procs[i].role, "quality" | "embedded"))
            .collect();
        for &i in &quality {
            self.kill9(i);
        }
        let mut cmd = Command::new(&self.mcf);
        cmd.args(["quality", "rebuild"]);
        match self.mode {
            Mode::Embedded => cmd.arg("--data-dir").arg(self.dir.path().join("data")),
            Mode::Distributed => cmd.arg("--distributed"),
        };
        let out = cmd
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .output()
            .context("running mcf quality rebuild")?;
        for &i in &quality {
            self.revive(i)?;
        }
        let said = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !out.status.success() {
            bail!(
                "mcf quality rebuild: {}: {said} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(said)
    }

    /// Stops every process serving `service` (embedded: the one process), then starts each
    /// again on its port and data: all are down together, so each new process loads its
    /// in-memory state (Matching's roster) from the database afresh, none copying a peer.
    pub fn restart(&mut self, service: &str) -> anyhow::Result<()> {
        let serving: Vec<usize> = (0..self.procs.len())
            .filter(|&i| self.procs[i].role == service || self.procs[i].role == "embedded")
            .collect();
        for &i in &serving {
            self.kill9(i);
        }
        for &i in &serving {
            self.revive(i)?;
        }
        Ok(())
    }

    /// Where Mail writes the messages it sends (one `.eml` file each).
    pub fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// Where the processes of `role` write their log.
    pub fn log_path(&self, role: &str) -> String {
        self.dir
            .path()
            .join(format!("{role}.log"))
            .display()
            .to_string()
    }
}

impl Drop for System {
    fn drop(&mut self) {
        self.procs.clear();
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn path(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).display().to_string()
}
