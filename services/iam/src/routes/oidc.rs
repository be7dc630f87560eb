//! The OpenID Connect provider: discovery, JWKS, the sign-in page (authorization code +
//! PKCE), the token endpoint, userinfo, and sign-in at the upstream provider. Public but
//! userinfo; pages and redirects for browsers, OAuth JSON errors for clients.

use std::net::SocketAddr;

use auth::{Access, Principal, Role, Route, Routes};
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use contracts::AccountId;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use web::{Form, Query};

use super::page::{Lang, Pages};
use super::{HTML, page};
use crate::App;
use crate::app::federated_sign_in::{self, Back};
use crate::app::sign_in::{Refusal, SignIn, check_request, sign_in};
use crate::app::token::{Credentials, grant};
use crate::app::{Params, param, read};
use crate::error::{IamError, OAuthError};

/// An authorization request (RFC 6749 4.1.1 with PKCE, RFC 7636), as the sign-in page's
/// query and form carry it; the form adds `email` and `password`. Every parameter is kept
/// and carried through the page (other ones too).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuthorizeRequest {
    /// `code`.
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    /// Registered for the client, matched exactly.
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// `S256`.
    pub code_challenge_method: Option<String>,
    /// The page's language, first of these space-separated tags IAM writes (`en`, `ru`;
    /// OpenID Connect Core 3.1.2.1). The portal sends its own language.
    pub ui_locales: Option<String>,
    /// The page's language when `ui_locales` names none (the sign-in form carries it).
    pub lang: Option<String>,
    /// The sign-in form's.
    pub email: Option<String>,
    /// The sign-in form's.
    pub password: Option<String>,
}

/// `POST /token` (a form; the grant decides which fields count). Confidential clients may
/// send their credentials as HTTP Basic instead.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenRequest {
    /// `authorization_code`, `refresh_token` or `client_credentials`.
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
}

/// What a grant gives (RFC 6749 5.1).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenResponse {
    /// An EdDSA JWT for the services.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds.
    pub expires_in: u64,
    /// Rotated on every use (not for client credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// With the `openid` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// Who the bearer is (OpenID Connect Core 5.3.2).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UserInfo {
    pub sub: AccountId,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
}

/// The upstream provider's answer (`GET /federation/callback`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FederationCallback {
    pub state: Option<String>,
    pub code: Option<String>,
    /// Set when the upstream sign-in failed.
    pub error: Option<String>,
}

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::get("/.well-known/openid-configuration", Access::Public)
                .summary("OpenID Connect discovery")
                .returns::<Value>(StatusCode::OK),
            discovery,
        )
        .route(
            Route::get("/jwks.json", Access::Public)
                .summary("The published signing keys (RFC 7517)")
                .returns::<Value>(StatusCode::OK),
            jwks,
        )
        .route(
            Route::get("/authorize", Access::Public)
                .summary("The sign-in page of an authorization request")
                .query::<AuthorizeRequest>()
                .returns_media(StatusCode::OK, HTML)
                .returns_media(StatusCode::BAD_REQUEST, HTML)
                .redirects(StatusCode::SEE_OTHER),
            authorize_page,
        )
        .route(
            Route::post("/authorize", Access::Public)
                .summary("Sign in: a code back to the client, or the page again")
                .form::<AuthorizeRequest>()
                .redirects(StatusCode::SEE_OTHER)
                .returns_media(StatusCode::BAD_REQUEST, HTML)
                .returns_media(StatusCode::UNAUTHORIZED, HTML)
                .returns_media(StatusCode::TOO_MANY_REQUESTS, HTML),
            authorize,
        )
        .route(
            Route::post("/token", Access::Public)
                .summary("Redeem a code, a refresh token or client credentials")
                .form::<TokenRequest>()
                .returns::<TokenResponse>(StatusCode::OK)
                .returns::<OAuthError>(StatusCode::BAD_REQUEST)
                .returns::<OAuthError>(StatusCode::UNAUTHORIZED),
            token,
        )
        .route(
            Route::get("/federation/start", Access::Public)
                .summary("Sign in at the upstream provider instead")
                .query::<AuthorizeRequest>()
                .redirects(StatusCode::SEE_OTHER)
                .returns_media(StatusCode::BAD_REQUEST, HTML)
                .returns::<OAuthError>(StatusCode::BAD_GATEWAY),
            federation_start,
        )
        .route(
            Route::get("/federation/callback", Access::Public)
                .summary("The upstream provider signed the person in")
                .query::<FederationCallback>()
                .redirects(StatusCode::SEE_OTHER)
                .returns_media(StatusCode::BAD_REQUEST, HTML)
                .returns_media(StatusCode::FORBIDDEN, HTML)
                .returns_media(StatusCode::BAD_GATEWAY, HTML),
            federation_callback,
        )
        .route(
            Route::get("/userinfo", Access::SignedIn)
                .summary("Who the bearer is")
                .returns::<UserInfo>(StatusCode::OK),
            userinfo,
        )
        .route(
            Route::post("/userinfo", Access::SignedIn)
                .summary("Who the bearer is (POST, as OpenID Connect allows)")
                .returns::<UserInfo>(StatusCode::OK),
            userinfo,
        )
}

async fn discovery(State(app): State<App>) -> Json<Value> {
    let i = app.issuer();
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "jwks_uri": format!("{i}/jwks.json"),
        "revocation_endpoint": format!("{i}/revoke"),
        "end_session_endpoint": format!("{i}/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        // RS256 first: the default, and what OpenID Connect Discovery requires of everyone.
        "id_token_signing_alg_values_supported": ["RS256", "EdDSA"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "sid", "email", "name"],
        // The languages of IAM's own pages (OpenID Connect Discovery 1.0, 3).
        "ui_locales_supported": contracts::language::LANGUAGES,
    }))
}

/// The keys services verify access tokens with (Ed25519) and clients verify ID tokens with
/// (RSA, or Ed25519 for clients registered for EdDSA).
async fn jwks(State(app): State<App>) -> Result<Response, IamError> {
    let jwks = app.keys.jwks().await?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=60")], Json(jwks)).into_response())
}

fn upstream_name(app: &App) -> Option<&str> {
    (!app.config.upstream.issuer.is_empty()).then_some(app.config.upstream.name.as_str())
}

/// A refused authorization request as a browser gets it: a page, or back to the client.
fn refused(lang: Lang, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(message) => (
            StatusCode::BAD_REQUEST,
            Html(page::error(lang, &lang.message(message))),
        )
            .into_response(),
        Refusal::Back { location } => Redirect::to(&location).into_response(),
        Refusal::Failed(e) => e.into_response(),
    }
}

async fn authorize_page(
    State(app): State<App>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    let lang = Lang::pick(&p, &headers);
    match check_request(&app, &p).await {
        Ok(_) => Html(page::sign_in(lang, &p, "", None, upstream_name(&app))).into_response(),
        Err(r) => refused(lang, r),
    }
}

/// Good credentials: a single-use code, back to the client. Bad ones: the page again, with
/// a message that does not say which part was wrong.
async fn authorize(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Response {
    let lang = Lang::pick(&p, &headers);
    let email = param(&p, "email");
    match sign_in(&app, peer.ip(), &p).await {
        Ok(SignIn::Redirect(location)) => Redirect::to(&location).into_response(),
        Ok(SignIn::Blocked(seconds)) => {
            let message = lang.too_many_sign_ins(seconds);
            let html = page::sign_in(lang, &p, email, Some(&message), upstream_name(&app));
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, seconds.to_string())],
                Html(html),
            )
                .into_response()
        }
        Ok(SignIn::Wrong) => {
            let html = page::sign_in(
                lang,
                &p,
                email,
                Some(&lang.message("Wrong e-mail or password.")),
                upstream_name(&app),
            );
            (StatusCode::UNAUTHORIZED, Html(html)).into_response()
        }
        Err(r) => refused(lang, r),
    }
}

/// HTTP Basic client credentials, if sent.
pub(super) fn basic_auth(headers: &HeaderMap) -> Credentials {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The OAuth answers carry no cache (RFC 6749 5.1).
pub(super) const NO_STORE: [(header::HeaderName, &str); 2] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::PRAGMA, "no-cache"),
];

async fn token(
    State(app): State<App>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Result<Response, IamError> {
    let issued = grant(&app, basic_auth(&headers), &p).await?;
    let body = TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer".into(),
        expires_in: issued.expires_in,
        refresh_token: issued.refresh_token,
        scope: issued.scope,
        id_token: issued.id_token,
    };
    Ok((NO_STORE, Json(body)).into_response())
}

async fn federation_start(
    State(app): State<App>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Response, IamError> {
    match federated_sign_in::start(&app, &p).await {
        Ok(location) => Ok(Redirect::to(&location).into_response()),
        Err(Refusal::Failed(e)) => Err(e),
        Err(r) => Ok(refused(Lang::pick(&p, &headers), r)),
    }
}

async fn federation_callback(
    State(app): State<App>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    // The upstream provider's redirect carries none of our parameters: the cookie or the
    // browser's preference decides.
    let lang = Lang::pick(&p, &headers);
    if let Some(error) = p.get("error") {
        return (
            StatusCode::BAD_REQUEST,
            Html(page::error(lang, &lang.upstream_failed(error))),
        )
            .into_response();
    }
    match federated_sign_in::callback(&app, param(&p, "state"), param(&p, "code")).await {
        Ok(Back::Redirect(location)) => Redirect::to(&location).into_response(),
        Ok(Back::Disabled) => (
            StatusCode::FORBIDDEN,
            Html(page::error(lang, lang.account_disabled())),
        )
            .into_response(),
        // A browser lands here, so a refused callback (unknown or spent state, an ID token
        // that does not verify) is a page like this route's other answers, not the token
        // endpoint's OAuth JSON.
        Err(Refusal::Failed(IamError::OAuth {
            status,
            description,
            ..
        })) => (
            status,
            Html(page::error(lang, &lang.not_finished(&description))),
        )
            .into_response(),
        Err(r) => refused(lang, r),
    }
}

/// OpenID Connect Core 5.3.1 allows both `GET` and `POST`.
async fn userinfo(State(app): State<App>, who: Principal) -> Result<Json<UserInfo>, IamError> {
    let account = read::me(&app, &who).await?;
    // No `aud`: userinfo is a plain JSON answer for the bearer, not a token (OpenID Connect
    // Core 5.3.2); an `aud` here only confuses clients that check it against their id.
    Ok(Json(UserInfo {
        sub: account.id,
        email: account.email,
        name: account.name,
        roles: account.roles,
    }))
}
