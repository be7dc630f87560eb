//! Composition: which services run in this process, on which database and bus.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use messaging::bus::{EmbeddedBus, NatsBus};
use messaging::{Bus, Runtime};
use storage::{Db, DbOptions};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;

/// Every service this binary knows, in start order.
pub const SERVICES: &[&str] = &[
    iam::NAME,
    mail::NAME,
    hiring::NAME,
    ordering::NAME,
    matching::NAME,
];

/// A running system (or part of one): its listener address and its tasks.
pub struct Running {
    /// Where the HTTP listener is bound.
    pub addr: SocketAddr,
    /// Every route served, per service, with who may call it (the authorization matrix as
    /// enforced).
    pub authz: Vec<(&'static str, web::RouteRule)>,
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
    db.migrate(&[messaging::migrations(), migrations_of(service)?])
        .await
        .map_err(|e| anyhow::anyhow!("{service} migrations: {e}"))?;
    Ok(db)
}

fn migrations_of(service: &str) -> anyhow::Result<storage::Migrations> {
    Ok(match service {
        iam::NAME => iam::migrations(),
        mail::NAME => mail::migrations(),
        hiring::NAME => hiring::migrations(),
        ordering::NAME => ordering::migrations(),
        matching::NAME => matching::migrations(),
        other => anyhow::bail!("unknown service {other:?} (known: {})", SERVICES.join(", ")),
    })
}

/// Where tokens come from, as this process sees it.
struct Issuer {
    url: String,
    jwks: String,
    /// This process's listener, for URLs it hands out when no public URL is configured.
    listen: SocketAddr,
}

impl Issuer {
    fn verifier(&self, config: &Config, audience: &str) -> std::sync::Arc<auth::Verifier> {
        auth::Verifier::new(auth::VerifierConfig {
            issuer: self.url.clone(),
            audience: audience.to_owned(),
            keys: auth::KeySource::Url(self.jwks.clone()),
            min_refetch: Duration::from_secs(config.auth.jwks_min_refetch_s),
            leeway: Duration::from_secs(config.auth.leeway_s),
        })
    }
}

async fn build(
    service: &str,
    rt: Runtime,
    config: &Config,
    issuer: &Issuer,
) -> anyhow::Result<web::Service> {
    Ok(match service {
        iam::NAME => {
            iam::build(
                rt,
                &config.iam,
                &issuer.url,
                issuer.verifier(config, iam::NAME),
            )
            .await?
        }
        mail::NAME => {
            let mut mail_config = config.mail.clone();
            if mail_config.file_dir.as_os_str().is_empty() {
                mail_config.file_dir = config.embedded.data_dir.join("mail");
            }
            mail::build(rt, &mail_config, issuer.verifier(config, mail::NAME))?
        }
        hiring::NAME => {
            let public_url = if config.hiring.public_url.is_empty() {
                format!("http://{}/api/{}", issuer.listen, hiring::NAME)
            } else {
                config.hiring.public_url.clone()
            };
            hiring::build(
                rt,
                &config.hiring,
                &public_url,
                issuer.verifier(config, hiring::NAME),
            )
        }
        ordering::NAME => {
            let public_url = if config.ordering.public_url.is_empty() {
                format!("http://{}/api/{}", issuer.listen, ordering::NAME)
            } else {
                config.ordering.public_url.clone()
            };
            let objects = storage::Objects::open(
                &config.ordering.objects_url,
                &config
                    .embedded
                    .data_dir
                    .join("objects")
                    .join(ordering::NAME),
            )
            .map_err(|e| anyhow::anyhow!("ordering.objects_url: {e}"))?;
            tracing::info!(location = objects.location(), "ordering keeps photos here");
            ordering::build(
                rt,
                &config.ordering,
                &public_url,
                objects,
                issuer.verifier(config, ordering::NAME),
            )
        }
        matching::NAME => matching::build(
            rt,
            &config.matching,
            issuer.verifier(config, matching::NAME),
        )?,
        other => anyhow::bail!("unknown service {other:?} (known: {})", SERVICES.join(", ")),
    })
}

/// Embedded mode: every service in this process, SQLite files and the SQLite bus under the
/// data dir.
pub async fn start_embedded(config: &Config) -> anyhow::Result<Running> {
    let dir = &config.embedded.data_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("embedded.data_dir {}: {e}", dir.display()))?;
    let bus = Bus::Embedded(EmbeddedBus::open(&dir.join("bus.sqlite")).await?);
    let mut dbs = Vec::new();
    for service in SERVICES {
        dbs.push((
            *service,
            open_db(service, &embedded_db_url(config, service)).await?,
        ));
    }
    start(config, bus, dbs).await
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
    for service in services {
        migrations_of(service)?;
        let url = config.database_url(service)?;
        let service = SERVICES
            .iter()
            .find(|s| *s == service)
            .expect("checked above");
        dbs.push((*service, open_db(service, url).await?));
    }
    let bus = Bus::Nats(std::sync::Arc::new(
        NatsBus::connect(&config.nats.url, &config.messaging).await?,
    ));
    start(config, bus, dbs).await
}

async fn start(config: &Config, bus: Bus, dbs: Vec<(&'static str, Db)>) -> anyhow::Result<Running> {
    // Bind first: the issuer may be this very listener.
    let listener = tokio::net::TcpListener::bind(&config.http.listen)
        .await
        .map_err(|e| anyhow::anyhow!("http.listen {}: {e}", config.http.listen))?;
    let addr = listener.local_addr()?;
    let issuer_url = if config.auth.issuer.is_empty() {
        if !dbs.iter().any(|(name, _)| *name == iam::NAME) {
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
        jwks: if config.auth.jwks_url.is_empty() {
            format!("{issuer_url}/jwks.json")
        } else {
            config.auth.jwks_url.clone()
        },
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
    // One business clock per process, shared by its services.
    let clock = if config.clock.adjustable {
        tracing::warn!("clock.adjustable is on: admins can move business time (tests only)");
        storage::Clock::adjustable()
    } else {
        storage::Clock::system()
    };
    for (name, db) in dbs {
        let rt = Runtime::new(
            db,
            bus.clone(),
            config.messaging.clone(),
            shutdown_rx.clone(),
        )
        .with_clock(clock.clone());
        let service = build(name, rt, config, &issuer).await?;
        authz.extend(service.authz.iter().cloned().map(|r| (service.name, r)));
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
    // Problem+json fallbacks, panics answered, keep-alive honesty and security headers for
    // every service in this process (after nesting: nested routers inherit the fallbacks).
    let router = web::harden(router).layer(tower_http::trace::TraceLayer::new_for_http());
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
