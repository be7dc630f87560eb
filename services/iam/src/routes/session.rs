//! Ending sign-ins: token revocation (RFC 7009) and logout, both the MCF web apps' form
//! (client + refresh token) and OpenID Connect RP-Initiated Logout 1.0 (`id_token_hint`,
//! `post_logout_redirect_uri`, `state`).
//!
//! IAM keeps no browser session (every sign-in asks for the password), so a sign-in *is* its
//! refresh-token family: ending one revokes that family. Access tokens are not revocable
//! (services check them locally) and expire within minutes.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;
use web::{Form, Query};

use super::oidc::{Params, basic_auth, param, public_client, redirect_with};
use super::page;
use crate::App;
use crate::error::IamError;
use crate::store;
use crate::tokens::{self, digest};

/// `POST /revoke` (RFC 7009): `token`, optional `token_type_hint`, and the client (`client_id`
/// for public clients; HTTP Basic or `client_secret` for confidential ones).
///
/// A refresh token ends its whole sign-in (every token rotated from it: RFC 7009 2.1 lets the
/// server revoke the grant). An access token is `unsupported_token_type`: it cannot be
/// revoked, and saying 200 would claim it stopped working. Unknown tokens get 200, as the RFC
/// asks (the client cannot do anything better with an error).
pub async fn revoke(
    State(app): State<App>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Result<Response, IamError> {
    let client_id = authenticate(&app, &headers, &p).await?;
    let token = param(&p, "token");
    if token.is_empty() {
        return Err(IamError::invalid_request("token is required"));
    }
    let mut tx = app.rt.db.begin().await?;
    if let Some(refresh) = store::refresh(&mut tx, &digest(token)).await? {
        if refresh.client_id != client_id {
            return Err(IamError::invalid_grant(
                "the token was issued to another client",
            ));
        }
        store::revoke_family(&mut tx, &refresh.family_id).await?;
        tx.commit().await?;
        return Ok(revoked());
    }
    drop(tx);
    if tokens::is_own_access_token(&app, token).await {
        return Err(IamError::OAuth {
            status: StatusCode::BAD_REQUEST,
            error: "unsupported_token_type",
            description: "access tokens cannot be revoked; they expire within minutes. \
                          Revoke the refresh token to end the sign-in."
                .into(),
        });
    }
    Ok(revoked())
}

fn revoked() -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(json!({})),
    )
        .into_response()
}

/// The id of the client making a revocation request: a confidential client by its secret
/// (HTTP Basic or form), else a registered public client by its id.
async fn authenticate(app: &App, headers: &HeaderMap, p: &Params) -> Result<String, IamError> {
    let (id, secret) = basic_auth(headers).unwrap_or_else(|| {
        (
            param(p, "client_id").to_owned(),
            param(p, "client_secret").to_owned(),
        )
    });
    if secret.is_empty() {
        return Ok(public_client(app, &id).await?.id);
    }
    let mut conn = app.rt.db.pool().acquire().await?;
    store::client(&mut conn, &id)
        .await?
        .filter(|c| c.confidential && c.secret_hash.as_deref() == Some(digest(&secret).as_str()))
        .map(|c| c.id)
        .ok_or_else(|| IamError::invalid_client("unknown client or wrong secret"))
}

/// `GET /logout` (RP-Initiated Logout: the browser is sent here).
pub async fn logout_get(State(app): State<App>, Query(p): Query<Params>) -> Response {
    end_session(&app, &p).await
}

/// `POST /logout`: the MCF web apps' form (`client_id`, `refresh_token`: that sign-in ends,
/// answered as JSON), or RP-Initiated Logout posted as a form.
pub async fn logout(State(app): State<App>, Form(p): Form<Params>) -> Result<Response, IamError> {
    if !p.contains_key("refresh_token") {
        return Ok(end_session(&app, &p).await);
    }
    let client = public_client(&app, param(&p, "client_id")).await?;
    let mut tx = app.rt.db.begin().await?;
    if let Some(token) = store::refresh(&mut tx, &digest(param(&p, "refresh_token"))).await?
        && token.client_id == client.id
    {
        store::revoke_family(&mut tx, &token.family_id).await?;
    }
    tx.commit().await?;
    // The same answer whether or not the token existed.
    Ok(Json(json!({"signed_out": true})).into_response())
}

/// RP-Initiated Logout: ends the sign-in the `id_token_hint` names, then sends the browser
/// to `post_logout_redirect_uri` (only one registered for the client, with `state`) or shows
/// that the person is signed out. Requests that cannot be trusted to redirect are answered
/// with a page, never a redirect (no open redirector).
async fn end_session(app: &App, p: &Params) -> Response {
    match try_end_session(app, p).await {
        Ok(r) => r,
        Err(EndSession::Refused(message)) => {
            (StatusCode::BAD_REQUEST, Html(page::error(message))).into_response()
        }
        Err(EndSession::Failed(e)) => e.into_response(),
    }
}

enum EndSession {
    Refused(&'static str),
    Failed(IamError),
}

impl<E: Into<IamError>> From<E> for EndSession {
    fn from(e: E) -> Self {
        EndSession::Failed(e.into())
    }
}

async fn try_end_session(app: &App, p: &Params) -> Result<Response, EndSession> {
    let hint =
        match p.get("id_token_hint").filter(|h| !h.is_empty()) {
            Some(h) => Some(tokens::read_id_token_hint(app, h).await.ok_or(
                EndSession::Refused("The id_token_hint is not an ID token we issued."),
            )?),
            None => None,
        };
    let client_id = match (param(p, "client_id"), &hint) {
        ("", None) => None,
        ("", Some(h)) => Some(h.aud.clone()),
        (id, Some(h)) if id != h.aud => {
            return Err(EndSession::Refused(
                "The client_id does not match the id_token_hint.",
            ));
        }
        (id, _) => Some(id.to_owned()),
    };
    let client = match &client_id {
        Some(id) => {
            let mut conn = app.rt.db.pool().acquire().await.map_err(IamError::from)?;
            Some(
                store::client(&mut conn, id)
                    .await?
                    .filter(|c| !c.confidential)
                    .ok_or(EndSession::Refused("Unknown client_id."))?,
            )
        }
        None => None,
    };
    let back = match p.get("post_logout_redirect_uri").filter(|u| !u.is_empty()) {
        Some(uri) => {
            let client = client.as_ref().ok_or(EndSession::Refused(
                "A post_logout_redirect_uri needs a client_id or an id_token_hint.",
            ))?;
            if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
                return Err(EndSession::Refused(
                    "The post_logout_redirect_uri is not registered for this client.",
                ));
            }
            Some(uri.clone())
        }
        None => None,
    };
    // A `sub` that is no account id names no sign-in (IAM issues no such ID token).
    if let Some(hint) = &hint
        && let Some(sid) = &hint.sid
        && let Ok(account) = hint.sub.parse()
    {
        let mut tx = app.rt.db.begin().await?;
        store::revoke_family_of(&mut tx, sid, account).await?;
        tx.commit().await?;
    }
    Ok(match back {
        Some(uri) => redirect_with(&uri, &[("state", param(p, "state"))]).into_response(),
        None => Html(page::message("Signed out", "You are signed out of MCF.")).into_response(),
    })
}
