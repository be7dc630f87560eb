//! IAM's HTTP API: the OpenID Connect provider and the admin API.

mod admin;
mod oidc;
mod page;

use std::sync::Arc;

use auth::Verifier;
use axum::routing::{get, patch, post};
use axum::{Extension, Router};

use crate::App;

pub fn router(app: App, verifier: Arc<Verifier>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(oidc::discovery))
        .route("/jwks.json", get(oidc::jwks))
        .route(
            "/authorize",
            get(oidc::authorize_page).post(oidc::authorize),
        )
        .route("/token", post(oidc::token))
        .route("/userinfo", get(oidc::userinfo))
        .route(
            "/accounts",
            post(admin::create_account).get(admin::list_accounts),
        )
        .route("/accounts/{id}", get(admin::get_account))
        .route("/accounts/{id}", patch(admin::change_account))
        .route("/service-accounts", post(admin::create_service_account))
        .route("/keys/rotate", post(admin::rotate_keys))
        .layer(Extension(verifier))
        .with_state(app)
}
