//! What the composition hands a service when building it.

use std::path::PathBuf;
use std::sync::Arc;

use messaging::bus::Subscription;
use messaging::{Bus, Consumer, Faults, Handler, MessagingConfig, Outbox, Relay, Task, Work};
use serde::de::DeserializeOwned;
use storage::{Db, DbError};

use crate::Clock;
use tokio::sync::watch;

/// Everything one service may use from its surroundings: its database, messaging (bus,
/// outbox, settings, armed faults), business time, shutdown, token verification, where it
/// is reachable, where it keeps files, and its configuration section.
///
/// Cheap to clone (handles and `Arc`s): services keep it in their handler state.
#[derive(Clone)]
pub struct Context {
    /// The service's name: URL prefix `/api/<name>`, config section, token audience.
    pub name: &'static str,
    /// Its own database (its tables, outbox, inbox, dead letters).
    pub db: Db,
    pub bus: Bus,
    /// Messaging settings (`[messaging]`).
    pub messaging: MessagingConfig,
    /// Crash points armed for fault-injection tests (`messaging.crash_at`).
    pub faults: Faults,
    /// Wakes the relay when a transaction that wrote outbox rows committed; use
    /// [`Context::begin`], whose commit does it.
    pub outbox: Outbox,
    /// Becomes `true` when the process stops; every loop watches it.
    pub shutdown: watch::Receiver<bool>,
    /// Business time (check-in windows, deadlines); see [`Clock`].
    pub clock: Clock,
    /// Verifies the access tokens of requests (audience: this service).
    pub verifier: Arc<auth::Verifier>,
    /// The tokens' issuer: IAM's public base URL (`http://host:port/api/iam`).
    pub issuer: String,
    /// This service's public base URL, for links it hands out (`http://<listen>/api/<name>`
    /// unless its section sets `public_url`), without a trailing slash.
    pub public_url: String,
    /// The web portal's public base URL (`http://host:port`, no trailing slash), for links
    /// mailed to people: they open the portal's pages, not API routes.
    pub portal_url: String,
    /// The process's data directory (embedded files; default homes of photos and mails).
    pub data_dir: PathBuf,
    /// Every service of the system (not only those in this process), in start order: the
    /// token audiences IAM issues for.
    pub services: Arc<[&'static str]>,
    /// The service's configuration section (`[<name>]`), parsed by [`Context::config`].
    pub section: Arc<serde_json::Value>,
    /// The other services, for the few synchronous calls the design names, called with this
    /// service's own token ([`Peers`](crate::Peers)).
    pub peers: crate::Peers,
    /// The subscriptions of the consumer tasks made so far ([`Context::consumer_task`]):
    /// whose lag the service's metrics probe reads.
    subscriptions: Arc<std::sync::Mutex<Vec<Subscription>>>,
}

impl Context {
    /// A context for `name` on `db` and `bus`; the rest defaults to what a test wants
    /// (system clock, no configuration section, public URL `http://127.0.0.1/api/<name>`,
    /// portal URL `http://127.0.0.1`,
    /// the current directory as data dir, only this service known), adjusted through the
    /// public fields.
    pub fn new(
        name: &'static str,
        db: Db,
        bus: Bus,
        messaging: MessagingConfig,
        shutdown: watch::Receiver<bool>,
        verifier: Arc<auth::Verifier>,
    ) -> Self {
        let faults = Faults::parse(&messaging.crash_at);
        Context {
            name,
            db,
            bus,
            messaging,
            faults,
            outbox: Outbox::new(),
            shutdown,
            clock: Clock::system(),
            verifier,
            issuer: "http://127.0.0.1/api/iam".into(),
            public_url: format!("http://127.0.0.1/api/{name}"),
            portal_url: "http://127.0.0.1".into(),
            data_dir: PathBuf::from("."),
            services: Arc::from(vec![name]),
            section: Arc::new(serde_json::Value::Object(Default::default())),
            peers: crate::Peers::none("no peers: this context was not given any"),
            subscriptions: Arc::default(),
        }
    }

    /// Starts a unit of work on the service's database: what it writes, the events it
    /// publishes and the idempotency keys it claims commit together, and its commit wakes the
    /// relay (see [`Work`]).
    ///
    /// ```no_run
    /// # async fn example(ctx: &service::Context) -> Result<(), storage::DbError> {
    /// let mut work = ctx.begin().await?;
    /// // store::insert_order(&mut work, &order).await?;
    /// // work.publish(&t.change.envelope(order.version, None)).await?;
    /// work.commit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn begin(&self) -> Result<Work, DbError> {
        self.outbox.begin(&self.db).await
    }

    /// The service's configuration section as its own type; a section that does not fit
    /// names the service's key (`ordering: ...`). An absent section is an empty table, so
    /// types with `#[serde(default)]` get their defaults.
    pub fn config<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        T::deserialize(&*self.section).map_err(|e| anyhow::anyhow!("{}: {e}", self.name))
    }

    /// The default home of this service's objects (photos): `<data dir>/objects/<name>`.
    pub fn objects_dir(&self) -> PathBuf {
        self.data_dir.join("objects").join(self.name)
    }

    /// The probe reading this service's outbox backlog, dead letters and the lag of its
    /// consumer tasks (those made with [`Context::consumer_task`], before or after).
    pub fn probe(&self) -> crate::metrics::Probe {
        crate::metrics::Probe::new(
            self.name,
            self.db.clone(),
            self.bus.clone(),
            self.subscriptions.clone(),
        )
    }

    /// A named consumer applying events through `handler`.
    pub fn consumer(&self, name: &str, handler: Arc<dyn Handler>) -> Consumer {
        Consumer::new(
            name,
            self.db.clone(),
            handler,
            self.outbox.clone(),
            self.messaging.clone(),
            self.faults.clone(),
        )
    }

    /// The task publishing this service's outbox (a fresh relay per run).
    pub fn relay_task(&self) -> Task {
        let (db, bus, outbox) = (self.db.clone(), self.bus.clone(), self.outbox.clone());
        let (config, faults) = (self.messaging.clone(), self.faults.clone());
        let shutdown = self.shutdown.clone();
        Task::new("relay", move || {
            let relay = Relay::new(
                db.clone(),
                bus.clone(),
                outbox.clone(),
                config.clone(),
                faults.clone(),
            );
            relay.run(shutdown.clone())
        })
    }

    /// The task feeding `consumer` with the events of `source` it listens to, named after
    /// the consumer.
    pub fn consumer_task(&self, source: &str, event_types: &[&str], consumer: Consumer) -> Task {
        let sub = Subscription {
            consumer: consumer.name().to_owned(),
            source: source.to_owned(),
            event_types: event_types.iter().map(|s| (*s).to_owned()).collect(),
        };
        self.subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(sub.clone());
        let bus = self.bus.clone();
        let config = self.messaging.clone();
        let shutdown = self.shutdown.clone();
        Task::new(format!("consumer {}", consumer.name()), move || {
            let (bus, sub, consumer) = (bus.clone(), sub.clone(), consumer.clone());
            let (config, shutdown) = (config.clone(), shutdown.clone());
            async move { bus.run_consumer(sub, consumer, config, shutdown).await }
        })
    }
}
