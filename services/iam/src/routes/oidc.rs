//! The OpenID Connect provider: discovery, JWKS, authorization code + PKCE, token
//! endpoint (code, refresh with rotation and reuse detection, client credentials), userinfo.

use std::collections::BTreeMap;

use auth::Principal;
use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use contracts::AccountId;
use serde_json::{Value, json};
use web::{Form, Query};

use super::guesses::Guesses;
use super::page;
use crate::App;
use crate::domain::account::{Status, normalize_email};
use crate::domain::pkce;
use crate::error::IamError;
use crate::store::{self, Code, Refresh};
use crate::tokens::{self, digest, random_token};

/// `GET /.well-known/openid-configuration`.
pub async fn discovery(State(app): State<App>) -> Json<Value> {
    let i = &app.issuer;
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
    }))
}

/// `GET /jwks.json`: the keys services verify access tokens with (Ed25519) and clients verify
/// ID tokens with (RSA, or Ed25519 for clients registered for EdDSA).
pub async fn jwks(State(app): State<App>) -> Result<Response, IamError> {
    let jwks = app.keys.jwks().await?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=60")], Json(jwks)).into_response())
}

pub(crate) type Params = BTreeMap<String, String>;

pub(crate) fn param<'a>(p: &'a Params, name: &str) -> &'a str {
    p.get(name).map(String::as_str).unwrap_or("")
}

/// Checks the authorization request. Errors about the client or redirect URI are shown as
/// a page; the others are sent back to the (verified) redirect URI.
async fn check_request(app: &App, p: &Params) -> Result<String, Response> {
    let page_error = |m: &str| (StatusCode::BAD_REQUEST, Html(page::error(m))).into_response();
    let mut conn = app
        .rt
        .db
        .pool()
        .acquire()
        .await
        .map_err(|e| IamError::from(e).into_response())?;
    let client = store::client(&mut conn, param(p, "client_id"))
        .await
        .map_err(IntoResponse::into_response)?
        .filter(|c| !c.confidential)
        .ok_or_else(|| page_error("unknown client_id"))?;
    let redirect = param(p, "redirect_uri");
    if !client.redirect_uris.iter().any(|u| u == redirect) {
        return Err(page_error("redirect_uri is not registered for this client"));
    }
    let back = |error: &str, description: &str| {
        redirect_with(
            redirect,
            &[
                ("error", error),
                ("error_description", description),
                ("state", param(p, "state")),
            ],
        )
        .into_response()
    };
    if param(p, "response_type") != "code" {
        return Err(back(
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    if param(p, "code_challenge_method") != "S256" {
        return Err(back(
            "invalid_request",
            "code_challenge_method must be S256",
        ));
    }
    if !pkce::valid_challenge(param(p, "code_challenge")) {
        return Err(back(
            "invalid_request",
            "code_challenge must be a S256 challenge",
        ));
    }
    Ok(redirect.to_owned())
}

pub(crate) fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> Redirect {
    let query: String = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    if query.is_empty() {
        return Redirect::to(uri);
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{uri}{sep}{query}"))
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn upstream_name(app: &App) -> Option<&str> {
    (!app.config.upstream.issuer.is_empty()).then_some(app.config.upstream.name.as_str())
}

/// `GET /authorize`: the sign-in page.
pub async fn authorize_page(State(app): State<App>, Query(p): Query<Params>) -> Response {
    match check_request(&app, &p).await {
        Ok(_) => Html(page::sign_in(&p, "", None, upstream_name(&app))).into_response(),
        Err(r) => r,
    }
}

/// `POST /authorize`: the sign-in form. Good credentials: a single-use code, back to the
/// client. Bad ones: the page again, with a message that does not say which part was wrong.
pub async fn authorize(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(p): Form<Params>,
) -> Result<Response, IamError> {
    let redirect = match check_request(&app, &p).await {
        Ok(r) => r,
        Err(r) => return Ok(r),
    };
    let email = param(&p, "email");
    // Throttled per account and per source address, before any password is checked.
    let guesses = Guesses::new(email, peer.ip());
    if let Some(seconds) = guesses.blocked_for_s(&app).await? {
        let message = format!("Too many failed sign-ins. Try again in {seconds} s.");
        let html = page::sign_in(&p, email, Some(&message), upstream_name(&app));
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, seconds.to_string())],
            Html(html),
        )
            .into_response());
    }
    let Some(account) = sign_in(&app, email, param(&p, "password")).await? else {
        guesses.failed(&app).await?;
        let html = page::sign_in(
            &p,
            email,
            Some("Wrong e-mail or password."),
            upstream_name(&app),
        );
        return Ok((StatusCode::UNAUTHORIZED, Html(html)).into_response());
    };
    let mut tx = app.rt.db.begin().await?;
    guesses.succeeded(&mut tx).await?;
    tx.commit().await?;
    issue_code(&app, &p, &redirect, &account).await
}

/// Finishes an authorization request for a signed-in account: a single-use code, sent
/// back to the client's (verified) redirect URI.
pub(crate) async fn issue_code(
    app: &App,
    p: &Params,
    redirect: &str,
    account: &crate::domain::account::Account,
) -> Result<Response, IamError> {
    let code = random_token(32);
    let mut tx = app.rt.db.begin().await?;
    store::insert_code(
        &mut tx,
        &digest(&code),
        &Code {
            client_id: param(p, "client_id").to_owned(),
            account_id: account.id,
            redirect_uri: redirect.to_owned(),
            code_challenge: param(p, "code_challenge").to_owned(),
            scope: param(p, "scope").to_owned(),
            nonce: p.get("nonce").cloned(),
            expires_at: storage::now_micros() + app.config.code_ttl_s as i64 * 1_000_000,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with(redirect, &[("code", &code), ("state", param(p, "state"))]).into_response())
}

/// `GET /federation/start`: the authorization request goes on at the upstream provider.
pub async fn federation_start(
    State(app): State<App>,
    Query(p): Query<Params>,
) -> Result<Response, IamError> {
    if app.config.upstream.issuer.is_empty() {
        return Err(IamError::NotFound("federation"));
    }
    if let Err(r) = check_request(&app, &p).await {
        return Ok(r);
    }
    let mut request = p.clone();
    request.remove("email");
    request.remove("password");
    let location = crate::federation::start(&app, &request).await?;
    Ok(Redirect::to(&location).into_response())
}

/// `GET /federation/callback`: the upstream provider signed the person in.
pub async fn federation_callback(
    State(app): State<App>,
    Query(p): Query<Params>,
) -> Result<Response, IamError> {
    if let Some(error) = p.get("error") {
        return Ok((
            StatusCode::BAD_REQUEST,
            Html(page::error(&format!(
                "The upstream sign-in failed: {error}"
            ))),
        )
            .into_response());
    }
    let (account, request) =
        match crate::federation::callback(&app, param(&p, "state"), param(&p, "code")).await {
            Ok(found) => found,
            // A browser lands here, so a refused callback (unknown or spent state, an ID
            // token that does not verify) is a page like this route's other answers, not the
            // token endpoint's OAuth JSON.
            Err(IamError::OAuth {
                status,
                description,
                ..
            }) => {
                return Ok((
                    status,
                    Html(page::error(&format!(
                        "The sign-in could not be finished: {description}"
                    ))),
                )
                    .into_response());
            }
            Err(e) => return Err(e),
        };
    if account.status != Status::Active {
        return Ok((
            StatusCode::FORBIDDEN,
            Html(page::error("This account is disabled.")),
        )
            .into_response());
    }
    let redirect = match check_request(&app, &request).await {
        Ok(r) => r,
        Err(r) => return Ok(r),
    };
    issue_code(&app, &request, &redirect, &account).await
}

/// The account behind good credentials, if active.
async fn sign_in(
    app: &App,
    email: &str,
    password: &str,
) -> Result<Option<crate::domain::account::Account>, IamError> {
    let found = match normalize_email(email) {
        Ok(email) => {
            let mut conn = app.rt.db.pool().acquire().await?;
            store::credentials(&mut conn, &email).await?
        }
        Err(_) => None,
    };
    let (account, hash) = match found {
        Some((a, h)) => (Some(a), h),
        None => (None, None),
    };
    let ok = app.passwords.verify(password, hash.as_deref()).await?;
    Ok(account.filter(|a| ok && a.status == Status::Active))
}

/// `POST /token`.
pub async fn token(
    State(app): State<App>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Result<Response, IamError> {
    let body = match param(&p, "grant_type") {
        "authorization_code" => code_grant(&app, &p).await?,
        "refresh_token" => refresh_grant(&app, &p).await?,
        "client_credentials" => client_credentials(&app, &headers, &p).await?,
        "" => return Err(IamError::invalid_request("grant_type is required")),
        _ => {
            return Err(IamError::OAuth {
                status: StatusCode::BAD_REQUEST,
                error: "unsupported_grant_type",
                description: "use authorization_code, refresh_token or client_credentials".into(),
            });
        }
    };
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(body),
    )
        .into_response())
}

pub(crate) async fn public_client(app: &App, id: &str) -> Result<store::Client, IamError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    store::client(&mut conn, id)
        .await?
        .filter(|c| !c.confidential)
        .ok_or_else(|| IamError::invalid_client("unknown client_id"))
}

async fn code_grant(app: &App, p: &Params) -> Result<Value, IamError> {
    let client = public_client(app, param(p, "client_id")).await?;
    let code_hash = digest(param(p, "code"));
    // The sign-in this code starts; recorded with the code so a replay can end it.
    let family = uuid::Uuid::now_v7().to_string();
    let mut tx = app.rt.db.begin().await?;
    let Some(code) = store::redeem_code(&mut tx, &code_hash, &family).await? else {
        // A code presented twice was intercepted or replayed: the tokens already issued
        // from it may be in the wrong hands, so that sign-in ends (RFC 6749 4.1.2). Its
        // access tokens expire on their own within minutes.
        if let Some(issued) = store::redeemed_code_family(&mut tx, &code_hash).await? {
            store::revoke_family(&mut tx, &issued).await?;
            tx.commit().await?;
            tracing::warn!(family = %issued, "authorization code replayed: its sign-in revoked");
        }
        return Err(IamError::invalid_grant(
            "the code is unknown or was already used",
        ));
    };
    // The code is spent whatever happens next: commit that first.
    tx.commit().await?;
    if code.expires_at < storage::now_micros() {
        return Err(IamError::invalid_grant("the code expired"));
    }
    if code.client_id != client.id || code.redirect_uri != param(p, "redirect_uri") {
        return Err(IamError::invalid_grant(
            "client_id or redirect_uri does not match the code",
        ));
    }
    if !pkce::verifies(param(p, "code_verifier"), &code.code_challenge) {
        return Err(IamError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    issue(
        app,
        &client,
        code.account_id,
        &code.scope,
        &family,
        code.nonce.as_deref(),
    )
    .await
}

async fn refresh_grant(app: &App, p: &Params) -> Result<Value, IamError> {
    let client = public_client(app, param(p, "client_id")).await?;
    let hash = digest(param(p, "refresh_token"));
    let mut tx = app.rt.db.begin().await?;
    let Some(old) = store::refresh(&mut tx, &hash).await? else {
        return Err(IamError::invalid_grant("unknown refresh token"));
    };
    if old.client_id != client.id {
        return Err(IamError::invalid_grant(
            "the refresh token belongs to another client",
        ));
    }
    if old.used || old.revoked || !store::use_refresh(&mut tx, &hash).await? {
        // A used token presented again was stolen or replayed: end the whole sign-in.
        store::revoke_family(&mut tx, &old.family_id).await?;
        tx.commit().await?;
        tracing::warn!(family = %old.family_id, "refresh token reuse: family revoked");
        return Err(IamError::invalid_grant(
            "the refresh token was already used or revoked",
        ));
    }
    tx.commit().await?;
    if old.expires_at < storage::now_micros() {
        return Err(IamError::invalid_grant("the refresh token expired"));
    }
    issue(
        app,
        &client,
        old.account_id,
        &old.scope,
        &old.family_id,
        None,
    )
    .await
}

/// Access token (+ refresh token, + ID token for `openid`) for an active account.
async fn issue(
    app: &App,
    client: &store::Client,
    account_id: AccountId,
    scope: &str,
    family: &str,
    nonce: Option<&str>,
) -> Result<Value, IamError> {
    let mut tx = app.rt.db.begin().await?;
    let account = store::account(&mut tx, account_id)
        .await?
        .filter(|a| a.status == Status::Active)
        .ok_or_else(|| IamError::invalid_grant("the account is disabled"))?;
    let refresh = random_token(32);
    store::insert_refresh(
        &mut tx,
        &digest(&refresh),
        &Refresh {
            family_id: family.to_owned(),
            client_id: client.id.clone(),
            account_id: account.id,
            scope: scope.to_owned(),
            expires_at: storage::now_micros() + app.config.refresh_token_ttl_s as i64 * 1_000_000,
            used: false,
            revoked: false,
        },
    )
    .await?;
    tx.commit().await?;
    let access = tokens::access_token(
        app,
        account.id,
        &account.roles,
        &client.id,
        &client.audiences,
    )
    .await?;
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": app.config.access_token_ttl_s,
        "refresh_token": refresh,
        "scope": scope,
    });
    if scope.split_whitespace().any(|s| s == "openid") {
        body["id_token"] = json!(tokens::id_token(app, &account, client, nonce, family).await?);
    }
    Ok(body)
}

async fn client_credentials(app: &App, headers: &HeaderMap, p: &Params) -> Result<Value, IamError> {
    let (id, secret) = basic_auth(headers).unwrap_or_else(|| {
        (
            param(p, "client_id").to_owned(),
            param(p, "client_secret").to_owned(),
        )
    });
    let mut conn = app.rt.db.pool().acquire().await?;
    let client = store::client(&mut conn, &id)
        .await?
        .filter(|c| c.confidential && c.secret_hash.as_deref() == Some(digest(&secret).as_str()))
        .ok_or_else(|| IamError::invalid_client("unknown client or wrong secret"))?;
    let account_id = client
        .account_id
        .ok_or_else(|| IamError::invalid_client("the client acts for no account"))?;
    let account = store::account(&mut conn, account_id)
        .await?
        .filter(|a| a.status == Status::Active)
        .ok_or_else(|| IamError::invalid_client("the service account is disabled"))?;
    let access = tokens::access_token(
        app,
        account.id,
        &account.roles,
        &client.id,
        &client.audiences,
    )
    .await?;
    Ok(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": app.config.access_token_ttl_s,
    }))
}

pub(crate) fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// `GET` or `POST /userinfo` (OpenID Connect Core 5.3.1: both): who the bearer is.
pub async fn userinfo(State(app): State<App>, who: Principal) -> Result<Json<Value>, IamError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    let account = store::account(&mut conn, who.id)
        .await?
        .ok_or(IamError::NotFound("account"))?;
    // No `aud`: userinfo is a plain JSON answer for the bearer, not a token (OpenID Connect
    // Core 5.3.2); an `aud` here only confuses clients that check it against their id.
    Ok(Json(json!({
        "sub": account.id,
        "email": account.email,
        "name": account.name,
        "roles": account.roles,
    })))
}
