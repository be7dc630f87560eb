//! The service contract: what the composition hands each bounded context ([`Context`]),
//! what a context hands back ([`Service`]), and how it is registered ([`ServiceSpec`]).
//!
//! A context is one crate exporting one `ServiceSpec`; the binary lists the specs once and
//! derives everything else (database settings, migrations, token audiences, test and
//! benchmark clusters) from that list. Every service gets the same surface around its own
//! routes from [`assemble`]: the messaging and task operator routes (admins), health and
//! readiness (public) and its OpenAPI document.

mod assemble;
pub mod client;
mod context;
pub mod metrics;
mod openapi;
pub mod ops;
pub mod peers;
mod refused;
mod section;

use std::future::Future;
use std::pin::Pin;

use axum::Router;

pub use assemble::assemble;
pub use auth::RouteRule;
pub use context::Context;
pub use openapi::openapi;
pub use peers::{PeerError, Peers};
pub use refused::Refused;
pub use section::{Section, SectionError, SectionSpec, parse as parse_section, within};
/// Business time (check-in windows, deadlines), one per process, shared by its services.
pub mod clock;
pub use clock::Clock;
/// An in-process test kit: a service on a throw-away SQLite database and embedded bus, its
/// router called directly through the same typed clients as the end-to-end tests.
#[cfg(any(test, feature = "testing"))]
pub mod testing;

/// How every service answers a keyed request that may not go ahead: the key reused for
/// another request is 422 `idempotency_key_reused` naming the `Idempotency-Key` header;
/// anything else is an unexpected failure (500).
pub fn key_refusal(error: messaging::idempotency::KeyError) -> web::ApiError {
    match error {
        messaging::idempotency::KeyError::Reused => {
            let mut refusal = web::ApiError::invalid(
                "Idempotency-Key",
                "was already used for a different request",
            );
            refusal.code = "idempotency_key_reused";
            refusal
        }
        other => web::ApiError::from(web::Unexpected::from(other)),
    }
}

/// What a use case reached by a request with an optional `Idempotency-Key` made: the new
/// thing, or — the same request came with this key before — the first answer as it was.
#[derive(Debug)]
pub enum Created<T> {
    /// Made now.
    New(T),
    /// The first answer to the same request, status and JSON body.
    Replayed { status: u16, body: String },
}

impl<T: serde::Serialize> Created<T> {
    /// The HTTP answer: `status` with the new thing, or the first answer again.
    pub fn respond(self, status: axum::http::StatusCode) -> axum::response::Response {
        use axum::response::IntoResponse;
        match self {
            Created::New(thing) => (status, axum::Json(thing)).into_response(),
            Created::Replayed { status, body } => replay(status, body),
        }
    }
}

/// The stored first answer to a keyed request, sent again as it was (status, JSON body).
pub fn replay(status: u16, body: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK),
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// A built service: its HTTP routes and the background tasks (relay, consumers, ...) that
/// must run beside them until shutdown, each restartable (the composition supervises them
/// and records their restarts in `task_stats`, shown by `GET /ops/tasks`).
pub struct Service {
    pub name: &'static str,
    pub router: Router,
    pub tasks: Vec<messaging::Task>,
    pub task_stats: messaging::tasks::TaskStats,
    /// Who may call each route: the service's authorization matrix, as enforced.
    pub authz: Vec<RouteRule>,
    /// Reads its messaging figures for the process's `/metrics`.
    pub probe: metrics::Probe,
}

/// What [`ServiceSpec::build`] returns: building may wait (IAM creates its first key and
/// admin), so it is a future; boxed so a spec is a plain value in a list.
pub type Building = Pin<Box<dyn Future<Output = anyhow::Result<Service>> + Send>>;

/// A bounded context as the binary registers it: its name (also its URL prefix
/// `/api/<name>`, its configuration section, its database key and its token audience), its
/// schema, and how to build it from a [`Context`].
#[derive(Clone, Copy)]
pub struct ServiceSpec {
    pub name: &'static str,
    /// The service's own migrations (the messaging tables come from `messaging`).
    pub migrations: fn() -> storage::Migrations,
    /// Its configuration section `[<name>]`: defaults and checks.
    pub config: SectionSpec,
    pub build: fn(Context) -> Building,
}

impl std::fmt::Debug for ServiceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceSpec")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Declares a context's registration: `NAME`, `SPEC` and `migrations()` (its own
/// `migrations/` beside its `Cargo.toml`, read by [`storage::migrations!`]), its section
/// type whose defaults are its `config.toml`, and its `build` function (`async` when
/// building must wait, as IAM's does).
///
/// ```ignore
/// service::spec! {
///     /// Ordering as the binary registers it.
///     name: "ordering",
///     config: OrderingConfig,
///     build: build,
/// }
/// ```
#[macro_export]
macro_rules! spec {
    ($(#[$doc:meta])* name: $name:literal, config: $config:ty, build: async $build:path $(,)?) => {
        $crate::spec!(@ [$(#[$doc])*] $name, $config, |ctx| ::std::boxed::Box::pin($build(ctx)));
    };
    ($(#[$doc:meta])* name: $name:literal, config: $config:ty, build: $build:path $(,)?) => {
        $crate::spec!(@ [$(#[$doc])*] $name, $config,
            |ctx| ::std::boxed::Box::pin(async move { $build(ctx) }));
    };
    (@ [$($doc:tt)*] $name:literal, $config:ty, $build:expr) => {
        /// The context's name: its URL prefix `/api/<name>`, config section, database key
        /// and token audience.
        pub const NAME: &str = $name;

        $($doc)*
        pub const SPEC: $crate::ServiceSpec = $crate::ServiceSpec {
            name: NAME,
            migrations,
            config: $crate::SectionSpec::of::<$config>(::core::include_str!(::core::concat!(
                ::core::env!("CARGO_MANIFEST_DIR"),
                "/config.toml"
            ))),
            build: $build,
        };

        /// The context's own migrations: `migrations/` for both backends, plus
        /// `migrations/{sqlite,postgres}` where they differ (the messaging tables come
        /// separately).
        pub fn migrations() -> ::storage::Migrations {
            ::storage::migrations!("migrations")
        }
    };
}
