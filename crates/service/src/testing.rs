//! A service in the test's own process, for the tests of its validation and refusal cases
//! where they live (`services/<svc>/tests/it/` or its unit tests): a throw-away SQLite
//! database with the messaging and service migrations, an embedded bus, a [`Context`]
//! whose verifier accepts the tokens the kit mints, the service built from its
//! [`ServiceSpec`] and nested under `/api/<name>` behind the same shared layers as in
//! `mcf` (`web::harden`), called without a network through the same [`client::Client`] (and
//! so the same typed clients) the end-to-end tests use.
//!
//! Every answer those clients receive is checked against the service's own OpenAPI
//! document (status, media type, JSON Schema of the body): a test whose service answers what
//! its route declarations do not say fails, naming the route.
//!
//! Enable it with the `testing` feature in a service's dev-dependencies:
//! `service = { workspace = true, features = ["testing"] }`.
//!
//! ```no_run
//! # async fn example(spec: &service::ServiceSpec) {
//! use auth::Role;
//! use service::testing::TestService;
//!
//! // Given the service with a section of its own, and a manager
//! let ts = TestService::start(spec, serde_json::json!({"max_things": 2})).await;
//! let manager = ts.client_as(uuid::Uuid::now_v7(), &[Role::Manager]); // or an AccountId
//! // When a thing without a name is created
//! let refused = manager
//!     .post::<_, serde_json::Value>("/things", &serde_json::json!({"name": ""}))
//!     .await
//!     .unwrap_err();
//! // Then it is refused, naming the field
//! assert_eq!((refused.code(), refused.field()), (Some("validation_failed"), Some("name")));
//! # }
//! ```
//!
//! Tests that need only the context (a handler's state, a store against a real database:
//! what IAM's `test_context` and Matching's `sqlite()` set up by hand) take
//! [`TestService::builder`]`(spec).context()`; [`Builder::database`] points it at a
//! throw-away PostgreSQL instead.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use auth::{AccessClaims, Jwk, Jwks, KeySource, Role, RouteRule, Verifier, VerifierConfig};
use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use client::{Client, Sending, Transport};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use messaging::bus::EmbeddedBus;
use messaging::{Bus, MessagingConfig};
use storage::{Db, DbOptions};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::client::OpsClient;
use crate::{Clock, Context, ServiceSpec};

#[cfg(test)]
pub(crate) mod demo;
#[cfg(test)]
mod tests;

/// The issuer of the kit's tokens (`Context::issuer`).
pub const ISSUER: &str = "http://iam.test";

/// The account id of the admin [`TestService::ops`] calls as.
pub const ADMIN_ID: &str = "00000000-0000-7000-8000-00000000ad01";

/// The peer address in-process requests come from (IAM throttles sign-ins per address).
pub const PEER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 40_000);

/// Carries a [`client::Client`]'s requests to a router in this process
/// (`tower::ServiceExt::oneshot`), as if from [`PEER`].
#[derive(Clone)]
pub struct RouterTransport {
    router: Router,
}

impl RouterTransport {
    pub fn new(router: Router) -> Self {
        RouterTransport { router }
    }
}

impl Transport for RouterTransport {
    fn send(&self, request: axum::http::Request<Bytes>) -> Sending<'_> {
        let router = self.router.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            parts.extensions.insert(ConnectInfo(PEER));
            let request = axum::http::Request::from_parts(parts, axum::body::Body::from(body));
            let response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let (parts, body) = response.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .map_err(|e| format!("reading the answer: {e}"))?;
            Ok(axum::http::Response::from_parts(parts, body))
        })
    }
}

/// Checks every answer a [`TestService`]'s clients receive against the service's own OpenAPI
/// document: its status is documented for that route, its media type too, and a JSON body
/// fits the documented schema. A mismatch fails the test (a panic naming the route), so a
/// service's in-process tests keep its document honest without a line of their own.
///
/// Routes declared with the older `Routes::add` document only a `default` answer and are not
/// checked.
struct Conformance {
    document: serde_json::Value,
    /// `/api/<name>`: what the request paths start with.
    prefix: String,
}

impl Conformance {
    fn check(
        &self,
        method: &axum::http::Method,
        uri: &axum::http::Uri,
        response: &axum::http::Response<Bytes>,
    ) -> Result<(), String> {
        let status = response.status();
        let path = uri.path().strip_prefix(&self.prefix).unwrap_or(uri.path());
        let Some(operation) = self.operation(method, path) else {
            // What no route serves is answered by the shared fallbacks.
            return match status.as_u16() {
                404 | 405 => Ok(()),
                _ => Err(format!("{status} from a route the document does not have")),
            };
        };
        let responses = &operation["responses"];
        let range = format!("{}XX", status.as_u16() / 100);
        let documented = [status.as_str(), range.as_str()]
            .into_iter()
            .find_map(|key| responses.get(key));
        let Some(documented) = documented else {
            if responses.get("default").is_some() {
                // An undocumented (older) route: nothing to check against.
                return Ok(());
            }
            return Err(format!("{status} is not documented"));
        };
        let media_type = response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned());
        let Some(content) = documented.get("content").and_then(|c| c.as_object()) else {
            return match response.body().is_empty() {
                true => Ok(()),
                false => Err(format!(
                    "{status} is documented without a body, answered one"
                )),
            };
        };
        let Some(media) = media_type.as_deref().and_then(|m| content.get(m)) else {
            return Err(format!(
                "{status} answered {media_type:?}, documented {:?}",
                content.keys().collect::<Vec<_>>()
            ));
        };
        let (Some(schema), Some(kind)) = (media.get("schema"), media_type.as_deref()) else {
            return Ok(());
        };
        if !kind.ends_with("json") {
            return Ok(());
        }
        let body: serde_json::Value = serde_json::from_slice(response.body())
            .map_err(|e| format!("{status} {kind} is not JSON: {e}"))?;
        // Wrapped, so a boolean schema (any JSON) works too and `$ref`s find the shared ones.
        let root = serde_json::json!({
            "allOf": [schema],
            "components": self.document["components"],
        });
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("the documented schema does not compile: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| format!("{}: {e}", e.instance_path))
            .collect();
        match errors.is_empty() {
            true => Ok(()),
            false => Err(format!(
                "{status} does not fit its documented schema: {}\n  body: {body}",
                errors.join("; ")
            )),
        }
    }

    /// The operation of `method path`: the path pattern with the most literal segments
    /// among those that match (`/things/new` before `/things/{id}`).
    fn operation(&self, method: &axum::http::Method, path: &str) -> Option<&serde_json::Value> {
        let segments: Vec<&str> = path.split('/').collect();
        self.document["paths"]
            .as_object()?
            .iter()
            .filter_map(|(pattern, operations)| {
                let parts: Vec<&str> = pattern.split('/').collect();
                let literal = |p: &&str| !(p.starts_with('{') && p.ends_with('}'));
                let fits = parts.len() == segments.len()
                    && parts
                        .iter()
                        .zip(&segments)
                        .all(|(p, s)| if literal(p) { p == s } else { !s.is_empty() });
                let operation = operations.get(method.as_str().to_lowercase())?;
                fits.then(|| (parts.iter().filter(|p| literal(p)).count(), operation))
            })
            .max_by_key(|(literal, _)| *literal)
            .map(|(_, operation)| operation)
    }
}

/// A [`RouterTransport`] whose every answer passes [`Conformance`].
struct Checked {
    inner: RouterTransport,
    conformance: Arc<Conformance>,
}

impl Transport for Checked {
    fn send(&self, request: axum::http::Request<Bytes>) -> Sending<'_> {
        let (method, uri) = (request.method().clone(), request.uri().clone());
        Box::pin(async move {
            let response = self.inner.send(request).await?;
            if let Err(e) = self.conformance.check(&method, &uri, &response) {
                panic!("{method} {uri}: the answer does not match the OpenAPI document: {e}");
            }
            Ok(response)
        })
    }
}

/// Mints access tokens the kit's verifiers accept: an Ed25519 key made for the test,
/// published to the verifier as a static JWKS.
#[derive(Clone)]
pub struct TokenMint {
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
    audience: String,
    issued: Arc<AtomicU64>,
}

impl TokenMint {
    /// A fresh key for tokens meant for `audience` (the service's name).
    pub fn new(audience: &str) -> Self {
        let signing = SigningKey::from_bytes(&rand::random());
        let der = signing
            .to_pkcs8_der()
            .expect("an Ed25519 key encodes as PKCS#8");
        let kid = "test-key".to_owned();
        TokenMint {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            jwk: Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes()),
                kid: kid.clone(),
                alg: "EdDSA".into(),
                use_: "sig".into(),
            },
            kid,
            audience: audience.to_owned(),
            issued: Arc::default(),
        }
    }

    /// A verifier accepting exactly this mint's tokens.
    pub fn verifier(&self) -> Arc<Verifier> {
        Verifier::new(VerifierConfig {
            issuer: ISSUER.into(),
            audience: self.audience.clone(),
            keys: KeySource::Static(Jwks {
                keys: vec![self.jwk.clone()],
            }),
            min_refetch: Duration::from_secs(1),
            leeway: Duration::ZERO,
        })
    }

    /// A token for `principal` (an account id: `contracts::AccountId`, a `Uuid`, or its
    /// text) holding `roles`, valid for ten minutes.
    pub fn token(&self, principal: impl ToString, roles: &[Role]) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_secs() as i64;
        let claims = AccessClaims {
            iss: ISSUER.into(),
            sub: principal.to_string(),
            aud: vec![self.audience.clone()],
            exp: now + 600,
            nbf: now - 5,
            iat: now,
            jti: format!("test-{}", self.issued.fetch_add(1, Ordering::Relaxed)),
            roles: roles.to_vec(),
            client_id: "test".into(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).expect("a token signs")
    }
}

/// A service's context on throw-away storage, and what keeps that storage alive.
pub struct TestContext {
    /// What the service is (or would be) built from; adjust its public fields before
    /// building.
    pub ctx: Context,
    /// Mints tokens `ctx.verifier` accepts.
    pub mint: TokenMint,
    shutdown: watch::Sender<bool>,
    /// The database and bus files; removed when the test ends.
    pub dir: tempfile::TempDir,
}

impl TestContext {
    /// A token for `principal` holding `roles` (see [`TokenMint::token`]).
    pub fn token(&self, principal: impl ToString, roles: &[Role]) -> String {
        self.mint.token(principal, roles)
    }
}

impl Drop for TestContext {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// How a [`TestService`] (or a [`TestContext`]) is set up; made by
/// [`TestService::builder`].
#[must_use]
pub struct Builder {
    spec: ServiceSpec,
    section: serde_json::Value,
    services: Option<Vec<&'static str>>,
    clock: Clock,
    messaging: MessagingConfig,
    database: Option<String>,
    run_tasks: bool,
    peers: Option<crate::Peers>,
}

impl Builder {
    /// The service's configuration section (`[<name>]` as JSON); default: empty, so the
    /// section type's defaults.
    pub fn section(mut self, section: serde_json::Value) -> Self {
        self.section = section;
        self
    }

    /// Every service of the system, as IAM issues tokens for them; default: only this one.
    pub fn services(mut self, services: &[&'static str]) -> Self {
        self.services = Some(services.to_vec());
        self
    }

    /// The business clock; default: the system clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Messaging settings (retries, poll interval); default: `MessagingConfig::default()`.
    pub fn messaging(mut self, messaging: MessagingConfig) -> Self {
        self.messaging = messaging;
        self
    }

    /// Another database than a fresh SQLite file, e.g. a throw-away PostgreSQL's URL from
    /// the `testing` crate (the bus stays embedded).
    pub fn database(mut self, url: impl Into<String>) -> Self {
        self.database = Some(url.into());
        self
    }

    /// The services it calls synchronously, e.g. `Peers::fixed([("ordering",
    /// ordering.client_as(id, &[Role::Service]))])` with another [`TestService`]; default:
    /// none (a call answers `PeerError::NotConfigured`).
    pub fn peers(mut self, peers: crate::Peers) -> Self {
        self.peers = Some(peers);
        self
    }

    /// Runs the service's background tasks (relay, consumers, loops) as `mcf` does, each
    /// supervised, until the test service is dropped; default: not run, so a test sees the
    /// outbox and state exactly as the request left them.
    pub fn with_tasks(mut self) -> Self {
        self.run_tasks = true;
        self
    }

    /// The context alone: the database migrated, the bus open, the verifier accepting the
    /// kit's tokens.
    ///
    /// # Panics
    /// If the database or the bus cannot be opened (the test cannot run).
    pub async fn context(self) -> TestContext {
        let name = self.spec.name;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = self
            .database
            .clone()
            .unwrap_or_else(|| storage::sqlite_url(&dir.path().join(format!("{name}.sqlite"))));
        let db = Db::connect(&url, &DbOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{name} test database {url}: {e}"));
        db.migrate(&[messaging::migrations(), (self.spec.migrations)()])
            .await
            .unwrap_or_else(|e| panic!("{name} migrations: {e}"));
        let bus = EmbeddedBus::open(&dir.path().join("bus.sqlite"))
            .await
            .unwrap_or_else(|e| panic!("embedded bus: {e}"));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mint = TokenMint::new(name);
        let mut ctx = Context::new(
            name,
            db,
            Bus::Embedded(bus),
            self.messaging,
            shutdown_rx,
            mint.verifier(),
        );
        ctx.issuer = ISSUER.into();
        ctx.clock = self.clock;
        ctx.data_dir = dir.path().to_owned();
        ctx.section = Arc::new(self.section);
        if let Some(services) = self.services {
            ctx.services = Arc::from(services);
        }
        if let Some(peers) = self.peers {
            ctx.peers = peers;
        }
        TestContext {
            ctx,
            mint,
            shutdown,
            dir,
        }
    }

    /// The service built and routed, its tasks running if [`Builder::with_tasks`] said so.
    ///
    /// # Panics
    /// If it does not build (see [`Builder::try_start`] to test that it does not).
    pub async fn start(self) -> TestService {
        let name = self.spec.name;
        self.try_start()
            .await
            .unwrap_or_else(|e| panic!("{name} does not build: {e:#}"))
    }

    /// Like [`Builder::start`], answering why the service did not build (a refused
    /// section...).
    pub async fn try_start(self) -> anyhow::Result<TestService> {
        let (build, run_tasks) = (self.spec.build, self.run_tasks);
        let test = self.context().await;
        let service = build(test.ctx.clone()).await?;
        let mut tasks = JoinSet::new();
        if run_tasks {
            for task in service.tasks {
                tasks.spawn(messaging::tasks::supervise(
                    task,
                    service.task_stats.clone(),
                    test.ctx.shutdown.clone(),
                    messaging::tasks::Backoff::default(),
                ));
            }
        }
        // As `mcf` serves it: nested under its prefix, behind the shared layers.
        let prefix = format!("/api/{}", service.name);
        let router = web::harden(Router::new().nest(&prefix, service.router));
        let plain = Client::over(
            test.ctx.public_url.clone(),
            RouterTransport::new(router.clone()),
        );
        let document = plain.get("/openapi.json").await?;
        // Every answer the tests see is checked against the document.
        let api = Client::over(
            test.ctx.public_url.clone(),
            Checked {
                inner: RouterTransport::new(router.clone()),
                conformance: Arc::new(Conformance { document, prefix }),
            },
        );
        Ok(TestService {
            authz: service.authz,
            router,
            api,
            test,
            tasks,
        })
    }
}

/// A service running in the test's process (see the [module](self) documentation).
pub struct TestService {
    /// Who may call each route, as declared.
    pub authz: Vec<RouteRule>,
    router: Router,
    api: Client,
    test: TestContext,
    /// Stopped with the context's shutdown, aborted when dropped.
    tasks: JoinSet<()>,
}

impl TestService {
    /// The service of `spec` with its configuration `section` (`json!({})` for the
    /// defaults), without its background tasks.
    pub async fn start(spec: &ServiceSpec, section: serde_json::Value) -> Self {
        Self::builder(spec).section(section).start().await
    }

    /// Sets up the service of `spec` step by step.
    pub fn builder(spec: &ServiceSpec) -> Builder {
        Builder {
            spec: *spec,
            section: serde_json::json!({}),
            services: None,
            clock: Clock::system(),
            messaging: MessagingConfig::default(),
            database: None,
            run_tasks: false,
            peers: None,
        }
    }

    /// The context the service was built from: its database (to look at rows), clock,
    /// outbox.
    pub fn ctx(&self) -> &Context {
        &self.test.ctx
    }

    /// A client of the service's API without a token.
    pub fn client(&self) -> Client {
        self.api.clone()
    }

    /// A client of the service's API signed in as `principal` holding `roles`.
    pub fn client_as(&self, principal: impl ToString, roles: &[Role]) -> Client {
        self.api.with_token(self.token(principal, roles))
    }

    /// A token for `principal` holding `roles`, accepted by the service.
    pub fn token(&self, principal: impl ToString, roles: &[Role]) -> String {
        self.test.token(principal, roles)
    }

    /// The operator routes, as an admin.
    pub fn ops(&self) -> OpsClient {
        OpsClient::new(self.client_as(ADMIN_ID, &[Role::Admin]))
    }

    /// The whole router, nested and hardened as `mcf` serves it (paths `/api/<name>/...`).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The service's OpenAPI document, as served.
    pub async fn openapi(&self) -> serde_json::Value {
        self.api
            .get("/openapi.json")
            .await
            .expect("every service serves /openapi.json")
    }

    /// The events of `event_type` in the service's outbox (whole envelopes as JSON), oldest
    /// first: what the service published.
    pub async fn published(&self, event_type: &str) -> Vec<serde_json::Value> {
        use storage::Row;
        storage::query("SELECT body FROM outbox WHERE event_type = $1 ORDER BY seq")
            .bind(event_type)
            .fetch_all(self.ctx().db.pool())
            .await
            .expect("the outbox is readable")
            .into_iter()
            .map(|r| {
                serde_json::from_str(&r.get::<String, _>("body")).expect("outbox bodies are JSON")
            })
            .collect()
    }

    /// Asks the background tasks to stop and waits for them (bounded).
    pub async fn stop(mut self) {
        let _ = self.test.shutdown.send(true);
        let all = async { while self.tasks.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(Duration::from_secs(10), all).await;
    }
}

/// Hands `event` to `consumer` as the bus would (first delivery) and checks it was applied
/// (or recognised as a duplicate): what a service's in-process tests do with its handlers.
pub async fn deliver(consumer: &messaging::Consumer, event: &contracts::Envelope) {
    let body = serde_json::to_vec(event).expect("envelopes serialize");
    assert_eq!(
        consumer.process(&body, 1).await,
        messaging::consumer::Disposition::Done,
        "{} was not applied",
        event.event_type
    );
}

/// Hands `event` to `consumer` again as a new event (another id) of the same fact, as a
/// producer that published it twice would, and checks it was applied or recognised: the
/// handler's own idempotency (not the inbox's, which knows events by id) is what is tested.
pub async fn deliver_as_new_event(consumer: &messaging::Consumer, event: &contracts::Envelope) {
    let mut again = event.clone();
    again.id = uuid::Uuid::now_v7();
    deliver(consumer, &again).await;
}
