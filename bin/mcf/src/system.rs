//! Composition: which services run in this process, on which database and bus.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use messaging::Bus;
use messaging::bus::{EmbeddedBus, NatsBus};
use service::{Context, ServiceSpec};
use storage::{Db, DbOptions};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;

/// Every service this binary knows, in start order: the one list. A service's name is its
/// URL prefix (`/api/<name>`), configuration section (`[<name>]`), database key
/// (`databases.<name>`, env `MCF_DATABASES__<NAME>`) and token audience; `serve`, `migrate`,
/// IAM's audiences, the end-to-end tests and the benchmarks all take it from here.
pub const REGISTRY: &[ServiceSpec] = &[
    iam::SPEC,
    mail::SPEC,
    hiring::SPEC,
    ordering::SPEC,
    matching::SPEC,
    inventory::SPEC,
    quality::SPEC,
    billing::SPEC,
    bets::SPEC,
];

/// The names of [`REGISTRY`], in the same order.
pub const SERVICES: &[&str] = &NAMES;

const NAMES: [&str; REGISTRY.len()] = {
    let mut names = [""; REGISTRY.len()];
    let mut i = 0;
    while i < REGISTRY.len() {
        names[i] = REGISTRY[i].name;
        i += 1;
    }
    names
};

/// The registered service called `name`, or an error listing the known ones.
pub fn spec(name: &str) -> anyhow::Result<&'static ServiceSpec> {
    REGISTRY
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| anyhow::anyhow!("unknown service {name:?} (known: {})", SERVICES.join(", ")))
}

/// A running system (or part of one): its listener address and its tasks.
pub struct Running {
    /// Where the HTTP listener is bound.
    pub addr: SocketAddr,
    /// Every route served, per service, with who may call it (the authorization matrix as
    /// enforced).
    pub authz: Vec<(&'static str, service::RouteRule)>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Running {
    /// Asks every task to stop and waits (bounded) for them.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(10), all)
            .await
            .is_err()
        {
            tracing::warn!("some tasks did not stop in time; aborting them");
            self.tasks.abort_all();
        }
    }

    /// Runs until a task ends on its own (the HTTP server failed; supervised background
    /// tasks only end at shutdown) or `signal` resolves.
    pub async fn until(mut self, signal: impl std::future::Future<Output = ()>) {
        tokio::select! {
            _ = signal => {}
            _ = self.tasks.join_next() => tracing::error!("a task stopped unexpectedly"),
        }
        self.stop().await;
    }
}

/// The SQLite URL of `service` in the embedded data dir.
pub fn embedded_db_url(config: &Config, service: &str) -> String {
    storage::sqlite_url(&config.embedded.data_dir.join(format!("{service}.sqlite")))
}

/// Opens a service's database and brings its schema up to date.
pub async fn open_db(service: &str, url: &str) -> anyhow::Result<Db> {
    let db = Db::connect(url, &DbOptions::default())
        .await
        .map_err(|e| anyhow::anyhow!("{service} database: {e}"))?;
    db.migrate(&[messaging::migrations(), (spec(service)?.migrations)()])
        .await
        .map_err(|e| anyhow::anyhow!("{service} migrations: {e}"))?;
    Ok(db)
}

/// Resets Quality's timeline for a rebuild from the streams (`mcf quality rebuild`):
/// embedded, its SQLite file and the embedded bus in the data dir; distributed, its
/// PostgreSQL database and NATS.
pub async fn rebuild_quality(
    config: &Config,
    distributed: bool,
) -> anyhow::Result<quality::rebuild::Reset> {
    let (db, bus) = if distributed {
        let db = open_db(quality::NAME, config.database_url(quality::NAME)?).await?;
        let bus = Bus::Nats(std::sync::Arc::new(
            NatsBus::connect(&config.nats.url, &config.messaging).await?,
        ));
        (db, bus)
    } else {
        let dir = &config.embedded.data_dir;
        let db = open_db(quality::NAME, &embedded_db_url(config, quality::NAME)).await?;
        let bus = Bus::Embedded(EmbeddedBus::open(&dir.join("bus.sqlite")).await?);
        (db, bus)
    };
    let reset = quality::rebuild::reset(&db, &bus).await;
    db.close().await;
    reset
}

/// Where tokens come from, as this process sees it.
struct Issuer {
    url: String,
    /// Where its keys are fetched, in failover order.
    jwks: Vec<String>,
    /// This process's listener, for URLs it hands out when no public URL is configured.
    listen: SocketAddr,
}

impl Issuer {
    fn verifier(&self, config: &Config, audience: &str) -> std::sync::Arc<auth::Verifier> {
        auth::Verifier::new(auth::VerifierConfig {
            issuer: self.url.clone(),
            audience: audience.to_owned(),
            keys: auth::KeySource::Urls(self.jwks.clone()),
            min_refetch: Duration::from_secs(config.auth.jwks_min_refetch_s),
            leeway: Duration::from_secs(config.auth.leeway_s),
        })
    }
}

/// Where IAM's keys are fetched: `auth.jwks_url` when set; else from IAM's internal URLs
/// (`peers.iam`, every replica) when set; else from the public issuer.
fn jwks_urls(config: &Config, issuer_url: &str) -> Vec<String> {
    let explicit = service::peers::url_list(&config.auth.jwks_url);
    if !explicit.is_empty() {
        return explicit;
    }
    let internal = config
        .peers
        .get(iam::NAME)
        .map(|urls| service::peers::url_list(urls))
        .unwrap_or_default();
    if internal.is_empty() {
        return vec![format!("{issuer_url}/jwks.json")];
    }
    internal
        .iter()
        .map(|iam| format!("{iam}/jwks.json"))
        .collect()
}

/// What the services of one process share.
struct Process<'a> {
    config: &'a Config,
    /// The whole configuration as JSON, to hand each service its own section.
    sections: serde_json::Value,
    issuer: Issuer,
    /// `None` in a process serving only the portal (it has no events).
    bus: Option<Bus>,
    shutdown: watch::Receiver<bool>,
    /// One business clock per process, shared by its services.
    clock: service::Clock,
}

impl Process<'_> {
    /// The context `spec` is built from: its database, the process's bus, clock and
    /// shutdown, a verifier for tokens meant for it, its URLs, the data dir and its
    /// configuration section.
    fn context(&self, spec: &ServiceSpec, db: Db, bus: Bus) -> Context {
        let (config, issuer) = (self.config, &self.issuer);
        let section = match self.sections.get(spec.name) {
            Some(section) => section.clone(),
            None => serde_json::Value::Object(Default::default()),
        };
        // A section may name the service's public URL (for links it mails); otherwise it is
        // reached through this process's listener.
        let public_url = match section.get("public_url").and_then(|v| v.as_str()) {
            Some(url) if !url.is_empty() => url.trim_end_matches('/').to_owned(),
            _ => format!("http://{}/api/{}", issuer.listen, spec.name),
        };
        let mut ctx = Context::new(
            spec.name,
            db,
            bus,
            config.messaging.clone(),
            self.shutdown.clone(),
            issuer.verifier(config, spec.name),
        );
        ctx.clock = self.clock.clone();
        ctx.issuer = issuer.url.clone();
        ctx.public_url = public_url;
        ctx.portal_url = portal_url(config, issuer);
        ctx.data_dir = config.embedded.data_dir.clone();
        ctx.services = std::sync::Arc::from(SERVICES);
        ctx.section = std::sync::Arc::new(section);
        ctx.peers = service::Peers::configured(spec.name, peer_settings(config, issuer));
        ctx
    }
}

/// How a process reaches the services it does not run: `[peers]`, else its own listener.
fn peer_settings(config: &Config, issuer: &Issuer) -> service::peers::PeerSettings {
    service::peers::PeerSettings {
        urls: config
            .peers
            .iter()
            .map(|(name, urls)| (name.clone(), service::peers::url_list(urls)))
            .filter(|(_, urls)| !urls.is_empty())
            .collect(),
        default_base: format!("http://{}/api", issuer.listen),
        system_secret: Some(config.auth.service_secret.clone()).filter(|s| !s.is_empty()),
        no_secret: "auth.service_secret is not set (env MCF_AUTH__SERVICE_SECRET): \
                    every process of the system needs the same value to call another \
                    service"
            .into(),
        issuer: issuer.url.clone(),
        timeout: Duration::from_millis(config.http.peer_timeout_ms),
    }
}

/// Where people reach the portal: `http.portal_url`, else this process's listener.
fn portal_url(config: &Config, issuer: &Issuer) -> String {
    match config.http.portal_url.trim_end_matches('/') {
        "" => format!("http://{}", issuer.listen),
        url => url.to_owned(),
    }
}

/// The portal of a process: sign-in at the issuer, its own URL on this listener, the
/// services through the peers' URLs.
fn portal_settings(config: &Config, issuer: &Issuer) -> anyhow::Result<portal::Settings> {
    if config.auth.service_secret.is_empty() {
        anyhow::bail!(
            "auth.service_secret is not set (env MCF_AUTH__SERVICE_SECRET): the portal's \
             session cookies are sealed with a key derived from it"
        );
    }
    Ok(portal::Settings {
        issuer: issuer.url.clone(),
        public_url: portal_url(config, issuer),
        peers: service::Peers::configured("portal", peer_settings(config, issuer)),
        system_secret: config.auth.service_secret.clone(),
        services: SERVICES.iter().map(|s| (*s).to_owned()).collect(),
        // The bank Billing uses is where people add cards and open accounts (its pages).
        bank_url: config
            .section::<billing::BillingConfig>(billing::NAME)
            .map(|b| b.bank_url.trim_end_matches('/').to_owned())
            .unwrap_or_default(),
    })
}

/// IAM's section with `portal`'s callback and sign-out return added to `mcf-web`'s
/// registered URIs: the portal's port is only known once the listener is bound.
fn register_portal(
    sections: &mut serde_json::Value,
    config: &Config,
    portal: &portal::Settings,
) -> anyhow::Result<()> {
    let mut iam: iam::IamConfig = config.section(iam::NAME)?;
    for (list, uri) in [
        (&mut iam.web_redirect_uris, portal.callback_url()),
        (
            &mut iam.web_post_logout_redirect_uris,
            portal.after_sign_out_url(),
        ),
    ] {
        if !list.contains(&uri) {
            list.push(uri);
        }
    }
    sections[iam::NAME] = serde_json::to_value(iam)?;
    Ok(())
}

/// Embedded mode: every service in this process, SQLite files and the SQLite bus under the
/// data dir.
pub async fn start_embedded(config: &Config) -> anyhow::Result<Running> {
    let dir = &config.embedded.data_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("embedded.data_dir {}: {e}", dir.display()))?;
    let log = EmbeddedBus::open(&dir.join("bus.sqlite")).await?;
    let bus = Bus::Embedded(log.clone());
    let mut dbs = Vec::new();
    for spec in REGISTRY {
        dbs.push((
            spec,
            open_db(spec.name, &embedded_db_url(config, spec.name)).await?,
        ));
    }
    let mut config = config.clone();
    if config.auth.service_secret.is_empty() {
        config.auth.service_secret = embedded_service_secret(dir)?;
    }
    let config = &config;
    // Backups pause and copy every database of the data dir, the bus's log with them.
    let mut files = vec![("bus.sqlite".to_owned(), log.db().clone())];
    files.extend(
        dbs.iter()
            .map(|(spec, db)| (format!("{}.sqlite", spec.name), db.clone())),
    );
    let backups = crate::backup::Databases::new(dir.clone(), files);
    let mut running = start(config, Some(bus), dbs, true, Some(backups)).await?;
    start_cookie_sandbox(config, &mut running).await;
    start_bank_sandbox(config, &mut running).await;
    Ok(running)
}

/// The system secret of an embedded system that was not given one: generated on the first
/// start into `<data dir>/service-secret` (readable by its owner only) and read back after,
/// so service tokens stay valid across restarts of the same data.
fn embedded_service_secret(dir: &std::path::Path) -> anyhow::Result<String> {
    let path = dir.join("service-secret");
    match std::fs::read_to_string(&path) {
        Ok(secret) if !secret.trim().is_empty() => return Ok(secret.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => anyhow::bail!("{}: {e}", path.display()),
    }
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        file.write_all(secret.as_bytes())?;
        file.sync_all()
    };
    write().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(secret)
}

/// Where `mcf sandbox cookies` listens by default: Inventory's default `contractor_url`.
const COOKIE_SANDBOX: &str = "127.0.0.1:8090";

/// Where `mcf sandbox bank` listens by default.
pub const BANK_SANDBOX: &str = "127.0.0.1:8091";

/// Fortune cookies without set-up: while Inventory's `contractor_url` is the sandbox
/// contractor's default address (nobody configured a real contractor), `mcf up` runs the
/// sandbox there in this process, with Inventory's secret, delivering after
/// `embedded.cookie_delay_s`.
async fn start_cookie_sandbox(config: &Config, running: &mut Running) {
    // The section was checked at load: it parses.
    let Ok(inventory) = config.section::<inventory::InventoryConfig>(inventory::NAME) else {
        return;
    };
    if inventory.contractor_url.trim_end_matches('/') != format!("http://{COOKIE_SANDBOX}") {
        return;
    }
    let sandbox = sandbox_cookies::Sandbox::new(sandbox_cookies::Settings {
        delay: Duration::from_secs(config.embedded.cookie_delay_s),
        secret: inventory.contractor_secret,
        ..sandbox_cookies::Settings::default()
    });
    tracing::info!(
        delay_s = config.embedded.cookie_delay_s,
        "cookie sandbox contractor at http://{COOKIE_SANDBOX}"
    );
    start_sandbox(running, "cookie", COOKIE_SANDBOX, |listener| {
        sandbox.serve(listener)
    })
    .await;
}

/// A bank without set-up: while Billing's `bank_url` is the sandbox bank's default address,
/// `mcf up` runs the sandbox bank ("Gold Hat") there in this process (register payment
/// methods and open accounts there: docs/bank.md).
async fn start_bank_sandbox(config: &Config, running: &mut Running) {
    // The section was checked at load: it parses.
    let Ok(billing) = config.section::<billing::BillingConfig>(billing::NAME) else {
        return;
    };
    if billing.bank_url.trim_end_matches('/') != format!("http://{BANK_SANDBOX}") {
        return;
    }
    let bank = sandbox_bank::Sandbox::new(sandbox_bank::Settings::default());
    tracing::info!("sandbox bank at http://{BANK_SANDBOX}");
    start_sandbox(running, "bank", BANK_SANDBOX, |listener| {
        bank.serve(listener)
    })
    .await;
}

/// Serves a sandbox on `addr` among `running`'s tasks until shutdown. When the address is
/// taken (say, by `mcf sandbox <name>` started by hand with faults), that one serves and
/// this process says so.
async fn start_sandbox<F>(
    running: &mut Running,
    name: &'static str,
    addr: &'static str,
    serve: impl FnOnce(tokio::net::TcpListener) -> F,
) where
    F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::info!(
                error = %e,
                "{name} sandbox not started here: {addr} is taken (another one serves)"
            );
            return;
        }
    };
    let served = serve(listener);
    let mut stop = running.shutdown.subscribe();
    running.tasks.spawn(async move {
        tokio::select! {
            served = served => {
                if let Err(e) = served {
                    tracing::error!(error = %e, "{name} sandbox failed");
                }
            }
            _ = stop.wait_for(|s| *s) => {}
        }
    });
}

/// Distributed mode: the named services in this process, each on its PostgreSQL database,
/// talking over NATS JetStream. Other processes may run the same services (competing
/// consumers) or the others.
pub async fn start_distributed(config: &Config, services: &[String]) -> anyhow::Result<Running> {
    if services.is_empty() {
        anyhow::bail!(
            "name at least one service to serve (known: {})",
            SERVICES.join(", ")
        );
    }
    let mut dbs = Vec::new();
    let mut portal = false;
    for service in services {
        if service == PORTAL {
            portal = true;
            continue;
        }
        let spec = spec(service)?;
        let url = config.database_url(service)?;
        dbs.push((spec, open_db(service, url).await?));
    }
    // The portal alone has no events: it needs no bus.
    let bus = if dbs.is_empty() {
        None
    } else {
        Some(Bus::Nats(std::sync::Arc::new(
            NatsBus::connect(&config.nats.url, &config.messaging).await?,
        )))
    };
    start(config, bus, dbs, portal, None).await
}

/// The web portal's name for `mcf serve`: no registered service (it has no database and
/// no events), served beside them or alone.
pub const PORTAL: &str = "portal";

async fn start(
    config: &Config,
    bus: Option<Bus>,
    dbs: Vec<(&'static ServiceSpec, Db)>,
    portal: bool,
    backups: Option<crate::backup::Databases>,
) -> anyhow::Result<Running> {
    // Bind first: the issuer may be this very listener.
    let listener = tokio::net::TcpListener::bind(&config.http.listen)
        .await
        .map_err(|e| anyhow::anyhow!("http.listen {}: {e}", config.http.listen))?;
    let addr = listener.local_addr()?;
    let issuer_url = if config.auth.issuer.is_empty() {
        if !dbs.iter().any(|(spec, _)| spec.name == iam::NAME) {
            anyhow::bail!(
                "auth.issuer is not set (env MCF_AUTH__ISSUER): a process without iam must know \
                 IAM's public URL, e.g. http://iam-host:8080/api/iam"
            );
        }
        format!("http://{addr}/api/{}", iam::NAME)
    } else {
        config.auth.issuer.trim_end_matches('/').to_owned()
    };
    let issuer = Issuer {
        jwks: jwks_urls(config, &issuer_url),
        url: issuer_url,
        listen: addr,
    };
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut router = Router::new().route(
        "/health",
        axum::routing::get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
    );
    let mut authz = Vec::new();
    // One Prometheus registry per process: every service's series carry its name.
    let metrics = service::metrics::install();
    let mut probes = Vec::new();
    // One business clock per process, shared by its services.
    let clock = if config.clock.adjustable {
        tracing::warn!("clock.adjustable is on: admins can move business time (tests only)");
        service::Clock::adjustable()
    } else {
        service::Clock::system()
    };
    // Business time where a test left it before this process was killed: the largest offset
    // kept by the services it runs (the one that was moved kept it).
    for (spec, db) in &dbs {
        let offset = service::clock::load(db)
            .await
            .map_err(|e| anyhow::anyhow!("{}: business clock: {e}", spec.name))?;
        clock.restore(offset);
    }
    // Each service reads its own section from the configuration as its own type.
    let mut sections = serde_json::to_value(&config.services)?;
    let portal = match portal {
        true => Some(portal_settings(config, &issuer)?),
        false => None,
    };
    if let Some(portal) = &portal
        && dbs.iter().any(|(spec, _)| spec.name == iam::NAME)
    {
        register_portal(&mut sections, config, portal)?;
    }
    let process = Process {
        config,
        sections,
        issuer,
        bus,
        shutdown: shutdown_rx.clone(),
        clock,
    };
    for (spec, db) in dbs {
        let bus = process
            .bus
            .clone()
            .ok_or_else(|| anyhow::anyhow!("{}: no bus", spec.name))?;
        let service = (spec.build)(process.context(spec, db, bus)).await?;
        authz.extend(service.authz.iter().cloned().map(|r| (service.name, r)));
        probes.push(service.probe.clone());
        router = router.nest(&format!("/api/{}", service.name), service.router);
        // Each background task runs under a supervisor: a panic restarts that task (logged
        // and counted for `GET /ops/tasks`) instead of ending the process.
        for task in service.tasks {
            tasks.spawn(messaging::tasks::supervise(
                task,
                service.task_stats.clone(),
                shutdown_rx.clone(),
                messaging::tasks::Backoff::default(),
            ));
        }
    }
    // `POST /ops/backup`: the process that owns the embedded files copies them (admins; the
    // route belongs to no one service, so tokens are checked as IAM checks them).
    if let Some(backups) = backups {
        router = router.merge(crate::backup::routes(
            backups,
            process.issuer.verifier(config, iam::NAME),
        ));
    }
    // The portal's pages beside the APIs (`/`, `/orders`, `/static/...`).
    if let Some(portal) = portal {
        router = router.merge(service::metrics::tracked(portal::router(portal), "portal"));
    }
    // `/metrics`, public like `/health`: the figures name no person and no secret, and a
    // scraper has no token to sign in with.
    router = router.merge(service::metrics::router(metrics.clone(), probes));
    tasks.spawn(service::metrics::upkeep(metrics, shutdown_rx.clone()));
    // Problem+json fallbacks, panics answered, keep-alive honesty and security headers for
    // every service in this process (after nesting: nested routers inherit the fallbacks).
    let router = web::harden(router);
    let mut stop = shutdown_rx.clone();
    tasks.spawn(async move {
        // The peer address feeds IAM's per-address sign-in throttling.
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
    Ok(Running {
        addr,
        authz,
        shutdown,
        tasks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_names_each_service_once_with_its_own_section() {
        assert_eq!(SERVICES.len(), REGISTRY.len());
        let sections = serde_json::to_value(Config::defaults().services).unwrap();
        for (i, spec) in REGISTRY.iter().enumerate() {
            assert_eq!(SERVICES[i], spec.name);
            assert!(!SERVICES[..i].contains(&spec.name), "{} twice", spec.name);
            assert!(
                sections.get(spec.name).is_some(),
                "no [{}] section",
                spec.name
            );
            assert_eq!(super::spec(spec.name).unwrap().name, spec.name);
        }
        let e = spec("nope").unwrap_err().to_string();
        assert!(e.contains("known: iam, mail"), "{e}");
    }
}
