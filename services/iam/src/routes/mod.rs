//! IAM's HTTP API and who may call it: the OpenID Connect endpoints are public, the admin
//! API is for admins.

pub(crate) mod admin;
mod guesses;
mod me;
mod oidc;
mod page;
mod password;
mod session;

pub(crate) use oidc::urlencode;

use auth::{Access, Role, Routes};
use axum::Router;
use axum::routing::{get, patch, post};

use crate::App;

const ADMIN: Access = Access::Roles(&[Role::Admin]);
/// People (every role but service accounts, which have no password).
const PEOPLE: Access = Access::Roles(&[
    Role::Admin,
    Role::Manager,
    Role::Supply,
    Role::Worker,
    Role::Client,
]);

pub fn router(app: App) -> (Router, Vec<auth::RouteRule>) {
    let (router, rules) = Routes::new()
        .add(
            "GET",
            "/.well-known/openid-configuration",
            Access::Public,
            get(oidc::discovery),
        )
        .add("GET", "/jwks.json", Access::Public, get(oidc::jwks))
        .add(
            "GET",
            "/authorize",
            Access::Public,
            get(oidc::authorize_page),
        )
        .add("POST", "/authorize", Access::Public, post(oidc::authorize))
        .add("POST", "/token", Access::Public, post(oidc::token))
        .add(
            "GET",
            "/federation/start",
            Access::Public,
            get(oidc::federation_start),
        )
        .add(
            "GET",
            "/federation/callback",
            Access::Public,
            get(oidc::federation_callback),
        )
        .add("POST", "/revoke", Access::Public, post(session::revoke))
        .add("GET", "/logout", Access::Public, get(session::logout_get))
        .add("POST", "/logout", Access::Public, post(session::logout))
        .add("GET", "/userinfo", Access::SignedIn, get(oidc::userinfo))
        .add("POST", "/userinfo", Access::SignedIn, post(oidc::userinfo))
        .add("POST", "/me/password", PEOPLE, post(me::change_password))
        .add("POST", "/accounts", ADMIN, post(admin::create_account))
        .add("GET", "/accounts", ADMIN, get(admin::list_accounts))
        // Everyone may read their own account; the handler checks the owner.
        .add(
            "GET",
            "/accounts/{id}",
            Access::SignedIn,
            get(admin::get_account),
        )
        .add(
            "PATCH",
            "/accounts/{id}",
            ADMIN,
            patch(admin::change_account),
        )
        .add(
            "POST",
            "/service-accounts",
            ADMIN,
            post(admin::create_service_account),
        )
        .add("POST", "/keys/rotate", ADMIN, post(admin::rotate_keys))
        .add(
            "POST",
            "/accounts/{id}/password-link",
            ADMIN,
            post(password::create_link),
        )
        .add("GET", "/password", Access::Public, get(password::page))
        .add("POST", "/password", Access::Public, post(password::set))
        .finish();
    (router.with_state(app), rules)
}
