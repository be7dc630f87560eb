//! The MCF web portal: every role's pages in a browser, server-rendered (askama templates,
//! htmx served from the binary to improve forms that work without it).
//!
//! The portal is no bounded context: it keeps nothing but an encrypted session cookie. It
//! is an OpenID Connect client of IAM (authorization code + PKCE as the public client
//! `mcf-web`; the access token refreshed before it expires) and calls the services through
//! their typed clients with the signed-in person's token, so every rule stays the
//! services' to enforce: a page shows what a service answered, and a refusal's
//! problem+json `field` next to that field.
//!
//! `mcf up` serves it at `/` beside `/api/...`; `mcf serve portal` serves it alone, reaching
//! the services through the `[peers]` configuration.

mod auth_flow;
mod form;
pub mod i18n;
mod pages;
pub mod session;
mod web;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum_extra::extract::cookie::Key;

pub use crate::web::Current;

/// What the portal needs to know about the system it fronts.
#[derive(Debug, Clone)]
pub struct Settings {
    /// IAM's public URL (the issuer, `http://host:port/api/iam`): where browsers sign in.
    pub issuer: String,
    /// The portal's own public URL (`http://127.0.0.1:8080`): its sign-in callback is
    /// `<public_url>/auth/callback`, and signing out returns to `<public_url>/`.
    pub public_url: String,
    /// How the services' APIs are reached (called with the person's token, never the
    /// portal's own).
    pub peers: service::Peers,
    /// The system secret (`auth.service_secret`) the session cookie's key is derived from.
    pub system_secret: String,
    /// The registered services (whose dead letters an admin sees).
    pub services: Vec<String>,
    /// Where browsers reach the bank's own pages (add a card, open an account: the sandbox
    /// bank's `/hosted/...`, `docs/bank.md`); empty: no link, people type what the bank
    /// gave them.
    pub bank_url: String,
}

impl Settings {
    /// The redirect URI registered for the portal at IAM (`mcf-web`).
    pub fn callback_url(&self) -> String {
        format!("{}/auth/callback", self.public_url.trim_end_matches('/'))
    }

    /// Where IAM may send the browser after signing out.
    pub fn after_sign_out_url(&self) -> String {
        format!("{}/", self.public_url.trim_end_matches('/'))
    }
}

/// The portal's shared state.
#[derive(Clone)]
pub struct Portal {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    key: Key,
    /// Cookies marked `Secure` when the portal is served over HTTPS.
    secure: bool,
    refreshes: auth_flow::Refreshes,
}

impl Portal {
    /// The portal for `settings`.
    pub fn new(settings: Settings) -> Self {
        let key = session::cookie_key(&settings.system_secret);
        let secure = settings.public_url.starts_with("https://");
        Portal {
            inner: Arc::new(Inner {
                settings,
                key,
                secure,
                refreshes: auth_flow::Refreshes::default(),
            }),
        }
    }

    /// What it was made with.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }
}

/// The largest form accepted: two phone photos with room to spare (each service checks its
/// own photo limit and says so next to the field).
const MAX_FORM_BYTES: usize = 16 * 1024 * 1024;

/// Every page of the portal, to serve at `/`.
pub fn router(settings: Settings) -> Router {
    let portal = Portal::new(settings);
    let pages = Router::new()
        .route("/", get(pages::home::home))
        .route("/lang/{tag}", get(pages::home::switch_language))
        .route("/sign-in", get(auth_flow::sign_in))
        .route("/auth/callback", get(auth_flow::callback))
        .route("/sign-out", post(auth_flow::sign_out))
        .merge(pages::account::routes())
        .merge(pages::candidate::routes())
        .merge(pages::client::routes())
        .merge(pages::worker::routes())
        .merge(pages::supply::routes())
        .merge(pages::manager::routes())
        .merge(pages::money::routes())
        .merge(pages::quality::routes())
        .merge(pages::bets::routes())
        .merge(pages::register::routes())
        .merge(pages::books::routes())
        .merge(pages::admin::routes())
        .layer(axum::middleware::from_fn_with_state(
            portal.clone(),
            web::session_layer,
        ))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .with_state(portal);
    Router::new()
        .route("/static/mcf.css", get(web::stylesheet))
        .route("/static/htmx.min.js", get(web::htmx))
        .merge(pages)
}
