//! IAM: accounts and roles, the OpenID Connect provider for MCF's web apps (authorization
//! code + PKCE, refresh-token rotation), client credentials for services, signing keys.

pub mod domain;
mod error;
pub mod events;
mod federation;
mod keys;
mod password;
pub(crate) mod routes;
mod store;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use auth::Role;
use contracts::Event;
use contracts::hiring::WorkerHired;
use serde::{Deserialize, Serialize};
use service::{Context, ServiceSpec};

pub use error::IamError;
pub use keys::Keys;
pub use password::Passwords;

use crate::domain::account::{Account, Status};

/// The context's name (URL prefix, database name, token audience for its own API).
pub const NAME: &str = "iam";

/// IAM as the binary registers it.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: NAME,
    migrations,
    config: service::SectionSpec::of::<IamConfig>(include_str!("../config.toml")),
    build: |ctx| Box::pin(build(ctx)),
};

/// IAM's own migrations (the messaging tables come separately).
pub fn migrations() -> storage::Migrations {
    storage::Migrations::new(
        sqlx::migrate!("migrations/sqlite"),
        sqlx::migrate!("migrations/postgres"),
    )
}

/// The `[iam]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IamConfig {
    /// Lifetime of access tokens, seconds.
    pub access_token_ttl_s: u64,
    /// Lifetime of refresh tokens, seconds.
    pub refresh_token_ttl_s: u64,
    /// Lifetime of authorization codes, seconds.
    pub code_ttl_s: u64,
    /// The first admin, created on first start when no admin exists.
    pub bootstrap_admin_email: String,
    /// Its password; empty: generated and printed once.
    pub bootstrap_admin_password: String,
    /// Password hashes computed at the same time (each takes ~19 MiB and one core).
    pub hash_concurrency: usize,
    /// Redirect URIs of the MCF web app client (`mcf-web`), matched exactly.
    pub web_redirect_uris: Vec<String>,
    /// Where logging out of `mcf-web` may send the browser back to, matched exactly.
    pub web_post_logout_redirect_uris: Vec<String>,
    /// How `mcf-web`'s ID tokens are signed: `RS256` (what OpenID Connect clients expect)
    /// or `EdDSA`. Access tokens are always EdDSA.
    pub web_id_token_alg: String,
    /// The upstream identity provider clients arrive from (Happy Cat Box).
    pub upstream: UpstreamConfig,
}

/// `[iam.upstream]`: an OpenID Connect provider IAM trusts for client sign-in. Its users
/// get a client account on first sign-in.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamConfig {
    /// The provider's issuer URL; empty disables federation.
    pub issuer: String,
    /// Our client id there (a public client: we use PKCE).
    pub client_id: String,
    /// Shown on the sign-in button.
    pub name: String,
}

impl Default for IamConfig {
    fn default() -> Self {
        IamConfig {
            access_token_ttl_s: 300,
            refresh_token_ttl_s: 30 * 24 * 3600,
            code_ttl_s: 60,
            bootstrap_admin_email: "admin@mcf.local".into(),
            bootstrap_admin_password: String::new(),
            hash_concurrency: 2,
            web_redirect_uris: vec!["http://127.0.0.1:8080/app/callback".into()],
            web_post_logout_redirect_uris: vec!["http://127.0.0.1:8080/app/".into()],
            web_id_token_alg: "RS256".into(),
            upstream: UpstreamConfig::default(),
        }
    }
}

impl service::Section for IamConfig {
    fn validate(&self) -> anyhow::Result<()> {
        // Lifetimes are added to "now" in microseconds or seconds: bounding them keeps that
        // arithmetic far from overflow and the values sane.
        if !(1..=24 * 3600).contains(&self.access_token_ttl_s) {
            anyhow::bail!("iam.access_token_ttl_s: must be 1 to 86400 (a day)");
        }
        if !(1..=366 * 24 * 3600).contains(&self.refresh_token_ttl_s) {
            anyhow::bail!("iam.refresh_token_ttl_s: must be 1 to 31622400 (a year)");
        }
        if !(1..=3600).contains(&self.code_ttl_s) {
            anyhow::bail!("iam.code_ttl_s: must be 1 to 3600");
        }
        Ok(())
    }
}

/// The public web app client every MCF page signs in through.
pub const WEB_CLIENT: &str = "mcf-web";

/// Shared state of IAM's handlers.
#[derive(Clone)]
pub struct App {
    rt: Context,
    config: IamConfig,
    issuer: String,
    keys: Arc<Keys>,
    passwords: Passwords,
    /// Sources presenting set-password links that do not work.
    link_throttle: Arc<domain::throttle::Local>,
    http: reqwest::Client,
}

impl App {
    /// Every service a token may be for: the system's services, as registered.
    fn audiences(&self) -> &[&'static str] {
        &self.rt.services
    }
}

/// Builds IAM: creates the first signing key, the first admin and the web client if they
/// are missing, and returns the service. `[iam]` is its section; the context's issuer is
/// IAM's public base URL (`http://host:port/api/iam`).
pub async fn build(ctx: Context) -> anyhow::Result<service::Service> {
    let config: IamConfig = ctx.config()?;
    let (rt, config) = (&ctx, &config);
    let keep_retired = Duration::from_secs(config.access_token_ttl_s + 300);
    let keys = Arc::new(Keys::new(rt.db.clone(), keep_retired));
    keys.ensure().await?;
    let app = App {
        rt: rt.clone(),
        config: config.clone(),
        issuer: rt.issuer.clone(),
        keys,
        passwords: Passwords::new(config.hash_concurrency),
        link_throttle: Arc::new(domain::throttle::Local::new(
            domain::throttle::ADDRESS,
            100_000,
        )),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?,
    };
    bootstrap(&app).await?;
    let on_hired = rt.consumer(
        events::ON_WORKER_HIRED,
        Arc::new(events::OnWorkerHired { app: app.clone() }),
    );
    Ok(service::assemble(
        rt,
        routes::router(app),
        vec![on_hired.clone()],
        vec![
            rt.relay_task(),
            rt.consumer_task(WorkerHired::SOURCE, &[WorkerHired::TYPE], on_hired),
        ],
    ))
}

/// The context of an IAM on a fresh SQLite database in `dir`, for handler tests: every
/// service of the system known (token audiences), tokens verified against no keys.
#[cfg(test)]
pub(crate) async fn test_context(dir: &std::path::Path) -> Context {
    use messaging::bus::EmbeddedBus;
    use messaging::{Bus, MessagingConfig};
    use storage::{Db, DbOptions};
    let db = Db::connect(
        &storage::sqlite_url(&dir.join("iam.sqlite")),
        &DbOptions::default(),
    )
    .await
    .unwrap();
    db.migrate(&[messaging::migrations(), migrations()])
        .await
        .unwrap();
    let bus = EmbeddedBus::open(&dir.join("bus.sqlite")).await.unwrap();
    let (_, shutdown) = tokio::sync::watch::channel(false);
    let verifier = auth::Verifier::new(auth::VerifierConfig {
        issuer: "http://iam.test".into(),
        audience: NAME.into(),
        keys: auth::KeySource::Static(auth::Jwks { keys: vec![] }),
        min_refetch: Duration::from_secs(1),
        leeway: Duration::ZERO,
    });
    let mut ctx = Context::new(
        NAME,
        db,
        Bus::Embedded(bus),
        MessagingConfig::default(),
        shutdown,
        verifier,
    );
    ctx.issuer = "http://iam.test".into();
    ctx.services = Arc::from(vec!["iam", "mail", "hiring", "ordering", "matching"]);
    ctx
}

/// An IAM on a fresh SQLite database in `dir`, for handler tests.
#[cfg(test)]
pub(crate) async fn test_app(dir: &std::path::Path) -> App {
    let rt = test_context(dir).await;
    App {
        keys: Arc::new(Keys::new(rt.db.clone(), Duration::from_secs(600))),
        issuer: rt.issuer.clone(),
        rt,
        config: IamConfig::default(),
        passwords: Passwords::new(2),
        link_throttle: Arc::new(domain::throttle::Local::new(domain::throttle::ADDRESS, 16)),
        http: reqwest::Client::new(),
    }
}

async fn bootstrap(app: &App) -> anyhow::Result<()> {
    let id_token_alg = keys::SigningAlg::parse(&app.config.web_id_token_alg)
        .ok_or_else(|| anyhow::anyhow!("iam.web_id_token_alg must be RS256 or EdDSA"))?;
    let mut tx = app.rt.db.begin().await?;
    store::upsert_client(
        &mut tx,
        &store::Client {
            id: WEB_CLIENT.into(),
            name: "MCF web apps".into(),
            confidential: false,
            secret_hash: None,
            redirect_uris: app.config.web_redirect_uris.clone(),
            audiences: app.audiences().iter().map(|s| (*s).to_owned()).collect(),
            account_id: None,
            id_token_alg,
            post_logout_redirect_uris: app.config.web_post_logout_redirect_uris.clone(),
        },
    )
    .await?;
    if !store::any_admin(&mut tx).await? {
        let email = domain::account::normalize_email(&app.config.bootstrap_admin_email)
            .map_err(|_| anyhow::anyhow!("iam.bootstrap_admin_email is not an e-mail address"))?;
        let (password, generated) = if app.config.bootstrap_admin_password.is_empty() {
            (tokens::random_token(18), true)
        } else {
            domain::account::check_password(&app.config.bootstrap_admin_password)
                .map_err(|e| anyhow::anyhow!("iam.bootstrap_admin_password: {e}"))?;
            (app.config.bootstrap_admin_password.clone(), false)
        };
        let hash = app.passwords.hash(&password).await?;
        let admin = Account {
            id: contracts::AccountId::new(),
            email: email.clone(),
            name: "Administrator".into(),
            roles: vec![Role::Admin],
            status: Status::Active,
        };
        store::insert_account(&mut tx, &admin, Some(&hash)).await?;
        if generated {
            // Shown once, on the console of the first start; never logged.
            println!(
                "IAM: created the first admin {email} with password {password} (shown once; change it: POST /api/iam/me/password)"
            );
        } else {
            eprintln!("IAM: created the first admin {email}");
        }
    }
    tx.commit().await?;
    Ok(())
}
