//! Runs MCF the way operators do, as `mcf` processes, so tests can kill -9 and restart them:
//! embedded (`mcf up` on a data dir) or distributed (`mcf serve` replicas on a throw-away
//! PostgreSQL and NATS JetStream).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testing::{Nats, NatsCluster, Postgres};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Embedded,
    Distributed,
}

/// One `mcf` process.
pub struct Proc {
    /// `embedded`, `iam`, `ordering` or `matching`.
    pub role: &'static str,
    child: Child,
    /// Kept across restarts, so the issuer URL and tokens stay valid.
    port: u16,
    pub base: String,
}

impl Proc {
    /// True once the process has died (crashed or killed).
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A whole system under test.
pub struct Cluster {
    dir: tempfile::TempDir,
    pub pg: Option<Postgres>,
    /// The NATS server of a [`Layout::Plain`] distributed system.
    pub nats: Option<Nats>,
    /// The three NATS nodes of a [`Layout::Redundant`] system.
    pub nats_nodes: Option<NatsCluster>,
    /// How a distributed system is laid out.
    layout: Layout,
    pub procs: Vec<Proc>,
    pub http: reqwest::Client,
    /// IAM's base URL (`http://addr/api/iam`), for the other processes' `auth.issuer`.
    issuer: String,
    /// Access tokens by account name (`admin`, or names made by [`Cluster::token_for`]).
    tokens: std::collections::HashMap<String, String>,
    /// Extra environment for every process.
    env: Vec<(String, String)>,
    /// The fortune-cookie contractor every test system orders from (in this test's
    /// process, delivering after [`COOKIE_DELAY`]): count what it baked, switch its faults.
    pub cookies: CookieContractor,
    /// The sandbox bank every test system collects from and pays out to (in this test's
    /// process): register payment methods, open accounts, read its statement, switch faults.
    pub bank: Bank,
}

/// From a cookie order to its delivery in test systems (the real contractor: ~10 minutes).
pub const COOKIE_DELAY: Duration = Duration::from_secs(1);

/// The secret test systems share with their cookie contractor.
const COOKIE_SECRET: &str = "e2e-cookie-contractor-secret";

/// The sandbox cookie contractor of a test system, stopped with it.
pub struct CookieContractor {
    pub sandbox: sandbox_cookies::Sandbox,
    /// Its base URL (`http://127.0.0.1:port`).
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl CookieContractor {
    async fn start() -> CookieContractor {
        let sandbox = sandbox_cookies::Sandbox::new(sandbox_cookies::Settings {
            delay: COOKIE_DELAY,
            secret: COOKIE_SECRET.into(),
            faults: Default::default(),
        });
        let (addr, task) = sandbox
            .clone()
            .start("127.0.0.1:0")
            .await
            .expect("the cookie sandbox binds a free port");
        CookieContractor {
            sandbox,
            url: format!("http://{addr}"),
            task,
        }
    }

    /// How many cookies it baked for kit `kit` (its Idempotency-Key).
    pub fn baked_for(&self, kit: &str) -> usize {
        self.sandbox.baked().iter().filter(|c| c.key == kit).count()
    }
}

impl Drop for CookieContractor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The sandbox bank of a test system, stopped with it.
pub struct Bank {
    pub sandbox: sandbox_bank::Sandbox,
    /// Its base URL (`http://127.0.0.1:port`).
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Bank {
    async fn start() -> Bank {
        let sandbox = sandbox_bank::Sandbox::new(sandbox_bank::Settings::default());
        let (addr, task) = sandbox
            .clone()
            .start("127.0.0.1:0")
            .await
            .expect("the sandbox bank binds a free port");
        Bank {
            sandbox,
            url: format!("http://{addr}"),
            task,
        }
    }
}

impl Drop for Bank {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The services a distributed cluster runs two processes of (competing consumers, a
/// replica killed while the other goes on).
const REPLICATED: &[&str] = &["ordering", "matching", "billing"];

/// How a distributed test system is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One NATS server; two processes of [`REPLICATED`], one of the others; callers reach
    /// each service at its first process.
    Plain,
    /// As operators run it for availability: three NATS nodes keeping three copies of each
    /// stream, two processes of every service and two of the portal, and every caller given
    /// every replica's URL (tokens and keys from IAM's replicas, not the public issuer).
    Redundant,
}

/// The system secret every process of a test system shares (service-to-service calls).
const SERVICE_SECRET: &str = "e2e-system-service-secret";

/// The variable telling processes where `service` is reached: `MCF_PEERS__<NAME>`.
fn peer_variable(service: &str) -> String {
    format!("MCF_PEERS__{}", service.to_ascii_uppercase())
}

/// The first admin's e-mail (IAM's default bootstrap admin) in every test system.
pub const ADMIN_EMAIL: &str = "admin@mcf.local";
/// The first admin's password in every test system.
pub const ADMIN_PASSWORD: &str = "test-admin-password-123";

impl Cluster {
    /// Embedded: one process. Distributed: two replicas of each service.
    pub async fn start(mode: Mode) -> Cluster {
        Self::start_with(mode, Vec::new(), None).await
    }

    /// A distributed system laid out for availability ([`Layout::Redundant`]), its portal
    /// public at [`PORTAL_URL`] (a balancer in front of both portal processes; IAM accepts
    /// its sign-in callback), with extra environment `env` for every process.
    pub async fn start_redundant(env: Vec<(String, String)>) -> Cluster {
        let callbacks = format!("[\"{REDIRECT}\", \"{PORTAL_URL}/auth/callback\"]");
        let env = [
            ("MCF_HTTP__PORTAL_URL".to_owned(), PORTAL_URL.to_owned()),
            ("MCF_IAM__WEB_REDIRECT_URIS".to_owned(), callbacks),
        ]
        .into_iter()
        .chain(env)
        .collect();
        Self::start_laid_out(Mode::Distributed, Layout::Redundant, env, None).await
    }

    /// Like [`Cluster::start`], with extra environment for every process and, optionally,
    /// the port of the first process (embedded: the whole system; distributed: iam).
    pub async fn start_with(
        mode: Mode,
        env: Vec<(String, String)>,
        first_port: Option<u16>,
    ) -> Cluster {
        Self::start_laid_out(mode, Layout::Plain, env, first_port).await
    }

    async fn start_laid_out(
        mode: Mode,
        layout: Layout,
        env: Vec<(String, String)>,
        first_port: Option<u16>,
    ) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("mcf-e2e-")
            .tempdir()
            .unwrap();
        let (pg, nats, nats_nodes) = match (mode, layout) {
            (Mode::Embedded, _) => (None, None, None),
            (Mode::Distributed, Layout::Plain) => (
                Some(Postgres::start().expect("PostgreSQL for tests")),
                Some(Nats::start().expect("NATS for tests")),
                None,
            ),
            (Mode::Distributed, Layout::Redundant) => (
                Some(Postgres::start().expect("PostgreSQL for tests")),
                None,
                Some(NatsCluster::start().expect("three NATS nodes for tests")),
            ),
        };
        let mut cluster = Cluster {
            dir,
            pg,
            nats,
            nats_nodes,
            layout,
            procs: Vec::new(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                // Sign-in answers with redirects the tests read, not follow.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            issuer: String::new(),
            tokens: Default::default(),
            env,
            cookies: CookieContractor::start().await,
            bank: Bank::start().await,
        };
        // Distributed: one process per registered service, two for those run replicated.
        let roles: Vec<&'static str> = match mode {
            Mode::Embedded => vec!["embedded"],
            Mode::Distributed => mcf::system::SERVICES
                .iter()
                .flat_map(|&s| {
                    let replicas = match layout {
                        Layout::Redundant => 2,
                        Layout::Plain if REPLICATED.contains(&s) => 2,
                        Layout::Plain => 1,
                    };
                    std::iter::repeat_n(s, replicas)
                })
                // The portal last: it calls every service.
                .chain(match layout {
                    Layout::Redundant => vec![mcf::system::PORTAL; 2],
                    Layout::Plain => vec![],
                })
                .collect(),
        };
        for (i, role) in roles.iter().enumerate() {
            // Each port is picked just before its process binds it: a port picked long before
            // may be taken meanwhile by another test's connection.
            let port = match (i, first_port) {
                (0, Some(p)) => p,
                _ => testing::free_port(),
            };
            let p = cluster.spawn(role, "", port);
            if cluster.issuer.is_empty() {
                cluster.issuer = format!("{}/api/iam", p.base);
            }
            cluster.procs.push(p);
        }
        cluster
    }

    /// Starts one `mcf` process for `role`, with `crash_at` armed (empty: none).
    pub fn spawn(&self, role: &'static str, crash_at: &str, port: u16) -> Proc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcf"));
        let listen = format!("127.0.0.1:{port}");
        match role {
            "embedded" => {
                cmd.args(["up", "--listen", &listen, "--data-dir"])
                    .arg(self.dir.path().join("data"));
            }
            service => {
                cmd.args(["serve", service, "--listen", &listen]);
                let pg = self.pg.as_ref().unwrap();
                if !self.issuer.is_empty() {
                    cmd.env("MCF_AUTH__ISSUER", &self.issuer);
                }
                for name in mcf::system::SERVICES {
                    cmd.env(
                        format!("MCF_DATABASES__{}", name.to_ascii_uppercase()),
                        pg.url(&format!("mcf_{name}")),
                    );
                }
                match (&self.nats, &self.nats_nodes) {
                    (Some(nats), _) => {
                        cmd.env("MCF_NATS__URL", nats.url());
                    }
                    (None, Some(nodes)) => {
                        // Each stream kept on every node: one node down holds nothing up.
                        cmd.env("MCF_NATS__URL", nodes.url())
                            .env("MCF_MESSAGING__NATS_REPLICAS", nodes.len().to_string());
                    }
                    (None, None) => unreachable!("a distributed system has NATS"),
                }
                // Embedded, `mcf up` generates the system secret into its data dir.
                cmd.env("MCF_AUTH__SERVICE_SECRET", SERVICE_SECRET);
                // Services call each other (Bets -> Ordering and Billing, Quality -> Matching,
                // the portal -> all) at the first process of each, or (redundant) at every
                // process of each, listed by the registry's order; the registry lists callees
                // before callers, so they are running by now.
                let mut peers: Vec<(&str, Vec<String>)> = Vec::new();
                for p in &self.procs {
                    if !mcf::system::SERVICES.contains(&p.role) {
                        continue;
                    }
                    let url = format!("{}/api/{}", p.base, p.role);
                    match peers.iter_mut().find(|(role, _)| *role == p.role) {
                        None => peers.push((p.role, vec![url])),
                        Some((_, urls)) if self.layout == Layout::Redundant => urls.push(url),
                        Some(_) => {}
                    }
                }
                // A replica starting lists itself too (IAM's second one, the first time):
                // its own keys come from IAM's URLs, the first of which may be down.
                if self.layout == Layout::Redundant && mcf::system::SERVICES.contains(&service) {
                    let own = format!("http://{listen}/api/{service}");
                    match peers.iter_mut().find(|(role, _)| *role == service) {
                        None => peers.push((role, vec![own])),
                        Some((_, urls)) if !urls.contains(&own) => urls.push(own),
                        Some(_) => {}
                    }
                }
                for (role, urls) in peers {
                    cmd.env(peer_variable(role), urls.join(","));
                }
            }
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("{role}.log")))
            .unwrap();
        cmd.env("MCF_MESSAGING__CRASH_AT", crash_at)
            .env("MCF_IAM__BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env(
                "MCF_IAM__WEB_REDIRECT_URIS",
                "[\"http://app.test/callback\"]",
            )
            .env("MCF_MESSAGING__POLL_INTERVAL_MS", "100")
            .env("MCF_MAIL__FILE_DIR", self.dir.path().join("mail"))
            // Photos: one directory every ordering replica shares (S3 in production).
            .env("MCF_ORDERING__OBJECTS_URL", self.dir.path().join("objects"))
            .env("MCF_MAIL__BACKOFF_INITIAL_MS", "50")
            .env("MCF_MESSAGING__BACKOFF_INITIAL_MS", "50")
            .env("MCF_MESSAGING__BACKOFF_MAX_MS", "1000")
            .env("MCF_MESSAGING__NATS_ACK_WAIT_S", "5")
            // Cookies from the test's contractor, quickly; asked about if no callback came
            // 2 s after the order.
            .env("MCF_INVENTORY__CONTRACTOR_URL", &self.cookies.url)
            .env("MCF_INVENTORY__CONTRACTOR_SECRET", COOKIE_SECRET)
            .env("MCF_INVENTORY__CONTRACTOR_TIMEOUT_MS", "1000")
            .env("MCF_INVENTORY__CONTRACTOR_BACKOFF_MS", "50")
            .env("MCF_INVENTORY__COOKIE_CHECK_AFTER_MS", "2000")
            .env("MCF_INVENTORY__COOKIE_CHECK_EVERY_MS", "500")
            .env("MCF_INVENTORY__COOKIE_JOB_EVERY_MS", "200")
            // The test's bank, quickly: the cycles look every 200 ms, a refused or unanswered
            // invoice is tried again after 500 ms.
            .env("MCF_BILLING__BANK_URL", &self.bank.url)
            .env("MCF_BILLING__BANK_TIMEOUT_MS", "1000")
            .env("MCF_BILLING__BANK_BACKOFF_MS", "50")
            .env("MCF_BILLING__CYCLE_EVERY_MS", "200")
            .env("MCF_BILLING__RETRY_INITIAL_MS", "500")
            .env("MCF_BILLING__RETRY_MAX_MS", "2000")
            .env("MCF_BILLING__BANK_LEASE_MS", "2000")
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        // A port picked free a moment ago (or freed by a kill) can be taken meanwhile by
        // some connection's ephemeral port; the process then exits at once. Try again.
        for attempt in 0.. {
            let mut child = cmd.spawn().expect("the mcf binary starts");
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(addr) = line.split("listening on ").nth(1) {
                        let addr = addr
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_owned();
                        let _ = tx.send(addr);
                    }
                }
            });
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(base) => {
                    return Proc {
                        role,
                        child,
                        port,
                        base,
                    };
                }
                Err(_) if attempt < 20 => {
                    let _ = child.kill();
                    let _ = child.wait();
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(_) => panic!("mcf {role} did not start; see {}", self.log_hint(role)),
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// What the processes of `role` wrote to their log (stderr) so far.
    pub fn log(&self, role: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{role}.log"))).unwrap_or_default()
    }

    fn log_hint(&self, role: &str) -> String {
        let path = self.dir.path().join(format!("{role}.log"));
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        format!("{}:\n{}", path.display(), log)
    }

    /// Replaces every process of `role` with a fresh one (crash point armed or not).
    pub fn restart_role(&mut self, role: &str, crash_at: &str) {
        let idx: Vec<usize> = (0..self.procs.len())
            .filter(|&i| self.procs[i].role == role)
            .collect();
        for i in idx {
            let (role, port) = (self.procs[i].role, self.procs[i].port);
            self.procs[i].kill9();
            self.procs[i] = self.spawn(role, crash_at, port);
        }
    }

    /// Stops every process serving `service`, runs `mcf <args>` on its data as an operator
    /// would (embedded: the data dir; distributed: `--distributed` on its database and
    /// NATS), then starts the processes again. Returns what the command printed.
    pub fn offline(&mut self, service: &str, args: &[&str]) -> String {
        let idx: Vec<usize> = (0..self.procs.len())
            .filter(|&i| matches!(self.procs[i].role, r if r == service || r == "embedded"))
            .collect();
        for &i in &idx {
            self.procs[i].kill9();
        }
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcf"));
        cmd.args(args);
        match (&self.pg, &self.nats) {
            (Some(pg), Some(nats)) => {
                cmd.arg("--distributed")
                    .env(
                        format!("MCF_DATABASES__{}", service.to_ascii_uppercase()),
                        pg.url(&format!("mcf_{service}")),
                    )
                    .env("MCF_NATS__URL", nats.url());
            }
            _ => {
                cmd.arg("--data-dir").arg(self.dir.path().join("data"));
            }
        }
        let out = cmd
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("the mcf binary runs");
        assert!(
            out.status.success(),
            "mcf {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for i in idx {
            let (role, port) = (self.procs[i].role, self.procs[i].port);
            self.procs[i] = self.spawn(role, "", port);
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Restarts every process of `role` that has died.
    pub fn revive(&mut self, role: &str) {
        for i in 0..self.procs.len() {
            if self.procs[i].role == role && self.procs[i].exited() {
                let (role, port) = (self.procs[i].role, self.procs[i].port);
                self.procs[i] = self.spawn(role, "", port);
            }
        }
    }

    /// The directory where Mail writes .eml files (no SMTP configured).
    pub fn mail_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("mail")
    }

    /// Base URL of a live process serving `service`.
    pub fn api(&mut self, service: &str) -> String {
        let base = self
            .procs
            .iter_mut()
            .filter(|p| p.role == service || p.role == "embedded")
            .find_map(|p| (!p.exited()).then(|| p.base.clone()))
            .unwrap_or_else(|| panic!("no live process serves {service}"));
        format!("{base}/api/{service}")
    }

    /// Every base URL of `service` (one per replica), for spreading requests.
    pub fn apis(&self, service: &str) -> Vec<String> {
        self.procs
            .iter()
            .filter(|p| p.role == service || p.role == "embedded")
            .map(|p| format!("{}/api/{service}", p.base))
            .collect()
    }

    /// A typed-client base for `service` (a live process of it) carrying `token`; wrap it
    /// in the service's own client (`ordering::client::OrderingClient(c.client(..))`).
    pub fn client(&mut self, service: &str, token: &str) -> client::Client {
        client::Client::new(self.api(service)).with_token(token)
    }

    /// The credentials `service` signs in to IAM with: derived from the system secret, the
    /// one `mcf up` generated into its data dir (embedded) or the one the test gave.
    pub fn service_credentials(&self, service: &str) -> service::peers::Credentials {
        let generated = self.dir.path().join("data").join("service-secret");
        let secret = std::fs::read_to_string(generated).unwrap_or_else(|_| SERVICE_SECRET.into());
        service::peers::credentials(secret.trim(), service)
    }

    /// The same without a token (public routes, and refusals of anonymous callers).
    pub fn anonymous(&mut self, service: &str) -> client::Client {
        client::Client::new(self.api(service))
    }

    /// A typed client for `service` as the first admin.
    pub async fn admin_client(&mut self, service: &str) -> client::Client {
        let token = self.admin_token().await;
        self.client(service, &token)
    }

    /// POST as the admin.
    pub async fn post(&mut self, service: &str, path: &str, body: Value) -> (u16, Value) {
        let token = self.admin_token().await;
        self.post_as(&token, service, path, body).await
    }

    /// GET as the admin.
    pub async fn get(&mut self, service: &str, path: &str) -> (u16, Value) {
        let token = self.admin_token().await;
        self.get_as(&token, service, path).await
    }

    /// The first admin's access token.
    pub async fn admin_token(&mut self) -> String {
        if let Some(t) = self.tokens.get("admin") {
            return t.clone();
        }
        let t = self.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.access;
        self.tokens.insert("admin".into(), t.clone());
        t
    }

    /// An access token of account `name` with `role`, creating and signing it in on first
    /// use.
    pub async fn token_for(&mut self, name: &str, role: &str) -> String {
        if let Some(t) = self.tokens.get(name) {
            return t.clone();
        }
        let email = format!("{name}@cats.test");
        let password = format!("password-of-{name}");
        let (status, account) = self
            .post(
                "iam",
                "/accounts",
                json!({"email": email, "name": name, "roles": [role],
                "password": password}),
            )
            .await;
        assert_eq!(status, 201, "{account}");
        let t = self.sign_in(&email, &password).await.access;
        self.tokens.insert(name.to_owned(), t.clone());
        t
    }

    /// A service type every test orders.
    pub async fn service_type(&mut self) -> String {
        let ordering = ordering::client::OrderingClient(self.admin_client("ordering").await);
        let new = ordering::domain::service_type::NewServiceType {
            name: "Cleaning".into(),
            description: String::new(),
            skill: None,
            price: contracts::Money::from_minor(120),
            duration_minutes: 60,
        };
        let added = ordering.add_service_type(&new, None).await.unwrap();
        added.id.to_string()
    }

    /// A worker with one skill, `cleaning` at `level`, registered in Matching.
    pub async fn register_worker(&mut self, name: &str, level: i64) -> String {
        let matching = matching::client::MatchingClient(self.admin_client("matching").await);
        let sample = matching::client::NormalSampleIn {
            id: None,
            name: name.into(),
            available: true,
            skills: [("cleaning".to_owned(), level)].into(),
        };
        let (created, sample) = matching.register(&sample, None).await.unwrap();
        assert!(created, "{name} is a new worker");
        sample.id.to_string()
    }

    /// Issues the supply kit of order `order` as a supply clerk as soon as it may be (it
    /// is made when the order becomes active; its fortune cookie must have arrived, and
    /// stock cover it: flows without a bill of materials need none), then waits until
    /// Ordering heard of it: from then on the order's worker may check in.
    pub async fn issue_kit(&mut self, order: &str) {
        let clerk = self.token_for("kit-clerk", "supply").await;
        let supply = inventory::client::InventoryClient(self.client("inventory", &clerk));
        let start = Instant::now();
        loop {
            // A process being restarted may refuse a moment: that is "not yet", like a
            // kit not made yet or one still waiting for its cookie.
            let kits = supply.kits(None).await.unwrap_or_default();
            if let Some(kit) = kits.iter().find(|k| k.kit.order_id.to_string() == order) {
                match supply.issue(kit.kit.id).await {
                    Ok(_) => break,
                    Err(e) if e.status().is_none_or(|s| s.is_server_error()) => {}
                    Err(e)
                        if matches!(e.code(), Some("cookie_not_arrived" | "consumables_short")) => {
                    }
                    Err(e) => panic!("issuing the kit of order {order}: {e:?}"),
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the kit of order {order} could not be issued"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.wait_until(
            "ordering",
            &format!("/orders/{order}"),
            "Ordering to hear the kit was issued",
            |o| o["kit_issued"] == true,
        )
        .await;
    }

    /// Fires `n` order requests of client `client` concurrently across ordering replicas.
    /// Returns the ids of those that were acknowledged (a request cut off by a crash may or
    /// may not exist). The client's account must exist ([`Cluster::token_for`]).
    pub async fn request_orders(&self, n: usize, service_type: &str, client: &str) -> Vec<String> {
        let token = self.tokens[client].clone();
        let apis = self.apis("ordering");
        let mut handles = Vec::new();
        for i in 0..n {
            let url = format!("{}/orders", apis[i % apis.len()]);
            let http = self.http.clone();
            let token = token.clone();
            let body = json!({
                "service_type_id": service_type,
                "description": format!("job {i}"),
                "scheduled_at": future(i),
            });
            handles.push(tokio::spawn(async move {
                let r = http
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .ok()?;
                if r.status().as_u16() != 201 {
                    return None;
                }
                let v: Value = r.json().await.ok()?;
                v["id"].as_str().map(str::to_owned)
            }));
        }
        let mut ids = Vec::new();
        for h in handles {
            if let Some(id) = h.await.unwrap() {
                ids.push(id);
            }
        }
        ids
    }

    /// Polls `GET path` of `service` as the admin until `ready` holds for the JSON body;
    /// returns that body, or panics with the last one (and the logs) after a minute.
    pub async fn wait_until(
        &mut self,
        service: &str,
        path: &str,
        what: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> Value {
        self.wait_until_within(Duration::from_secs(60), service, path, what, ready)
            .await
    }

    /// [`Cluster::wait_until`], giving up after `within`.
    pub async fn wait_until_within(
        &mut self,
        within: Duration,
        service: &str,
        path: &str,
        what: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> Value {
        let token = self.admin_token().await;
        let start = Instant::now();
        loop {
            let url = format!("{}{path}", self.api(service));
            // A process being restarted may refuse a moment: that is "not yet".
            let body = match self.http.get(url).bearer_auth(&token).send().await {
                Ok(r) => r.json::<Value>().await.unwrap_or(Value::Null),
                Err(_) => Value::Null,
            };
            if ready(&body) {
                return body;
            }
            if start.elapsed() > within {
                panic!("{what} did not happen: {body}\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the system is quiet: no service's outbox holds an event and every consumer
    /// applied as many events of each type as were published. A process killed then has no
    /// backlog to replay when it starts again (a crash point armed for that start would
    /// otherwise be reached before the process is up).
    pub async fn settle(&mut self) {
        let token = self.admin_token().await;
        self.eventually(Duration::from_secs(60), "the system settled", |c| {
            let token = token.clone();
            let apis: Vec<(String, String)> = mcf::system::SERVICES
                .iter()
                .map(|s| ((*s).to_owned(), c.api(s)))
                .collect();
            let http = c.http.clone();
            async move {
                let mut stats = Vec::new();
                for (service, api) in apis {
                    let body: Value = match http
                        .get(format!("{api}/ops/messaging"))
                        .bearer_auth(&token)
                        .send()
                        .await
                    {
                        Ok(r) => r.json().await.map_err(|e| format!("{service}: {e}"))?,
                        Err(e) => return Err(format!("{service}: {e}")),
                    };
                    stats.push((service, body));
                }
                let m = chaos::checker::compare_messaging(&stats);
                if !m.stuck.is_empty() {
                    return Err(m.stuck.join("; "));
                }
                Ok(())
            }
        })
        .await;
        // The embedded bus saves each consumer's cursor at most 250 ms after its work: a
        // kill before that replays the last events (deduplicated by the inbox, but each one
        // passes the consumer's fault points again).
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    /// Waits until `check` holds (polling), or panics with the last state after `timeout`.
    pub async fn eventually<F, Fut>(&mut self, timeout: Duration, what: &str, mut check: F)
    where
        F: FnMut(&mut Cluster) -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let start = Instant::now();
        let mut last;
        loop {
            // The closure borrows the cluster only while the future is built.
            last = check(self).await;
            if last.is_ok() {
                return;
            }
            if start.elapsed() > timeout {
                panic!(
                    "{what} did not happen within {timeout:?}: {}\n{}",
                    last.unwrap_err(),
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn logs(&self) -> String {
        let mut roles: Vec<&str> = self.procs.iter().map(|p| p.role).collect();
        roles.dedup();
        let mut logs: Vec<String> = roles.iter().map(|r| self.log_hint(r)).collect();
        // NATS says why JetStream is unavailable (a leader election, a lost route).
        if let Some(nats) = &self.nats {
            logs.push(format!("NATS:\n{}", nats.log_tail(60)));
        }
        if let Some(nodes) = &self.nats_nodes {
            logs.push(nodes.log_tails(60));
        }
        logs.join("\n")
    }
}

/// Polls `attempt` every 100 ms until it gives a value, and returns it; panics after
/// `within` with `what` and the last attempt's account of why not yet (`Err`).
pub async fn poll_until<T, Fut>(within: Duration, what: &str, mut attempt: impl FnMut() -> Fut) -> T
where
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        let not_yet = match attempt().await {
            Ok(value) => return value,
            Err(not_yet) => not_yet,
        };
        assert!(start.elapsed() < within, "{what}: {not_yet}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The account id (`sub`) an access token speaks for.
pub fn account_id(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

/// An RFC 3339 time `i` minutes past tomorrow.
pub fn future(i: usize) -> String {
    (chrono::Utc::now() + chrono::Duration::days(1) + chrono::Duration::minutes(i as i64))
        .to_rfc3339()
}

/// Tokens from a sign-in.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub id_token: Option<String>,
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    iam::domain::pkce::new_pair()
}

pub const REDIRECT: &str = "http://app.test/callback";

/// The portal's public URL in a [`Layout::Redundant`] system: nobody answers there; a test
/// plays the balancer, sending the browser's requests to a running portal process.
pub const PORTAL_URL: &str = "http://portal.test";

/// The query parameters of a redirect's Location.
pub fn location_params(location: &str) -> std::collections::HashMap<String, String> {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or("");
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Cluster {
    /// Posts the sign-in form of an authorization request; returns status and Location
    /// (or the page body when there is no redirect).
    pub async fn authorize(
        &mut self,
        email: &str,
        password: &str,
        challenge: &str,
        method: &str,
    ) -> (u16, String) {
        let iam = self.api("iam");
        authorize(&self.http, &iam, email, password, challenge, method).await
    }

    /// `POST /token` with a form.
    pub async fn token(&mut self, form: &[(&str, &str)]) -> (u16, Value) {
        let url = format!("{}/token", self.api("iam"));
        let r = self.http.post(url).form(form).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Redeems an authorization code of the `mcf-web` client with its PKCE verifier.
    pub async fn exchange(&mut self, code: &str, verifier: &str) -> (u16, Value) {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "mcf-web"),
            ("redirect_uri", REDIRECT),
            ("code", code),
            ("code_verifier", verifier),
        ])
        .await
    }

    /// The whole authorization-code + PKCE flow, as a browser and a web app would do it.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Tokens {
        let (verifier, challenge) = pkce();
        let (status, location) = self.authorize(email, password, &challenge, "S256").await;
        assert_eq!(status, 303, "sign-in of {email} failed: {location}");
        let params = location_params(&location);
        assert_eq!(params.get("state").map(String::as_str), Some("xyz"));
        let code = params["code"].clone();
        let (status, body) = self.exchange(&code, &verifier).await;
        assert_eq!(status, 200, "{body}");
        Tokens {
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
            id_token: body["id_token"].as_str().map(str::to_owned),
        }
    }

    /// GET with a bearer token.
    pub async fn get_as(&mut self, token: &str, service: &str, path: &str) -> (u16, Value) {
        let url = format!("{}{path}", self.api(service));
        let r = self.http.get(url).bearer_auth(token).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// POST JSON with a bearer token.
    pub async fn post_as(
        &mut self,
        token: &str,
        service: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.api(service));
        let r = self
            .http
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// The sign-in form posted to `<iam>/authorize` for the `mcf-web` client: the status and the
/// redirect location (or the page, when there is none).
pub async fn authorize(
    http: &reqwest::Client,
    iam: &str,
    email: &str,
    password: &str,
    challenge: &str,
    method: &str,
) -> (u16, String) {
    let form = [
        ("response_type", "code"),
        ("client_id", "mcf-web"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid offline_access"),
        ("state", "xyz"),
        ("code_challenge", challenge),
        ("code_challenge_method", method),
        ("email", email),
        ("password", password),
    ];
    let r = http
        .post(format!("{iam}/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    match r.headers().get("location") {
        Some(l) => (status, l.to_str().unwrap().to_owned()),
        None => (status, r.text().await.unwrap()),
    }
}
