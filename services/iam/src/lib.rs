//! IAM: accounts and roles, the OpenID Connect provider for MCF's web apps (authorization
//! code + PKCE, refresh-token rotation), client credentials for services, signing keys.
//!
//! # Where the rules live
//! - `domain/`: what an account is (e-mail, password and role rules), PKCE, the throttle
//!   of password guesses: pure, no I/O.
//! - `app/`: one file per use case (create an account, sign in, redeem a grant, set a
//!   password...): load, decide, save, publish, commit, in one [`messaging::Work`].
//! - `routes/`: one file per resource: the DTOs, who may call each route and what it takes
//!   and answers (the OpenAPI document), HTML pages and redirects; they call `app/` only.
//! - `events.rs`: what IAM does when Hiring hires (decode, then `app/`).
//! - `store/`: SQL only. `keys.rs`: the signing keys; `tokens.rs`: what tokens say;
//!   `password.rs`: the argon2 pool; `federation.rs`: the upstream provider's protocol.
//! - `client.rs`: the typed client of this API.
//!
//! Time: what IAM stores and compares itself (codes, refresh tokens, links, throttles) is
//! business time (`ctx.clock`); what other services check against their system clock (a
//! token's `iat`/`nbf`/`exp`, so how long a retired key stays published) is real time.

pub(crate) mod app;
pub mod client;
mod config;
pub mod domain;
mod error;
pub mod events;
mod federation;
mod keys;
mod password;
pub(crate) mod routes;
mod store;
mod tokens;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use contracts::Event;
use contracts::hiring::WorkerHired;
use service::Context;

pub use config::{IamConfig, UpstreamConfig};
pub use error::{IamError, OAuthError};
pub use keys::Keys;
pub use password::Passwords;

service::spec! {
    /// IAM as the binary registers it.
    name: "iam",
    config: IamConfig,
    build: async build,
}

/// The public web app client every MCF page signs in through.
pub const WEB_CLIENT: &str = "mcf-web";

/// Shared state of IAM's handlers and use cases.
#[derive(Clone)]
pub struct App {
    ctx: Context,
    config: IamConfig,
    keys: Arc<Keys>,
    passwords: Passwords,
    /// Sources presenting set-password links that do not work.
    link_throttle: Arc<domain::throttle::Local>,
    /// Sources asking for set-password links ("forgot your password?"): every ask counts.
    forgot_throttle: Arc<domain::throttle::Local>,
    http: reqwest::Client,
}

impl App {
    /// Every service a token may be for: the system's services, as registered.
    fn audiences(&self) -> &[&'static str] {
        &self.ctx.services
    }

    /// IAM's public base URL, the `iss` of its tokens.
    fn issuer(&self) -> &str {
        &self.ctx.issuer
    }

    /// IAM's state on `ctx` with `config`: its signing keys made if missing.
    async fn new(ctx: Context, config: IamConfig) -> anyhow::Result<App> {
        let keep_retired = Duration::from_secs(config.access_token_ttl_s + 300);
        let keys = Arc::new(Keys::new(ctx.clone(), keep_retired));
        keys.ensure().await?;
        Ok(App {
            ctx,
            passwords: Passwords::new(config.hash_concurrency),
            config,
            keys,
            link_throttle: Arc::new(domain::throttle::Local::new(
                domain::throttle::ADDRESS,
                100_000,
            )),
            forgot_throttle: Arc::new(domain::throttle::Local::new(
                domain::throttle::ADDRESS,
                100_000,
            )),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }

    /// Business time, unix microseconds.
    fn now(&self) -> i64 {
        storage::micros(self.ctx.clock.now())
    }
}

/// Builds IAM: creates the first signing key, the first admin and the web client if they
/// are missing, and returns the service. `[iam]` is its section; the context's issuer is
/// IAM's public base URL (`http://host:port/api/iam`).
pub async fn build(ctx: Context) -> anyhow::Result<service::Service> {
    let app = App::new(ctx.clone(), ctx.config()?).await?;
    app::bootstrap::bootstrap(&app).await?;
    let on_hired = ctx.consumer(
        events::ON_WORKER_HIRED,
        Arc::new(events::OnWorkerHired { app: app.clone() }),
    );
    Ok(service::assemble(
        &ctx,
        routes::routes(app),
        vec![on_hired.clone()],
        vec![
            ctx.relay_task(),
            ctx.consumer_task(WorkerHired::SOURCE, &[WorkerHired::TYPE], on_hired),
        ],
    ))
}
