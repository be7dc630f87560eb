//! Ending sign-ins: token revocation (RFC 7009) and logout, both the MCF web apps' form
//! (client + refresh token) and OpenID Connect RP-Initiated Logout 1.0 (`id_token_hint`,
//! `post_logout_redirect_uri`, `state`).
//!
//! IAM keeps no browser session (every sign-in asks for the password), so a sign-in *is* its
//! refresh-token family: ending one revokes that family. Access tokens are not revocable
//! (services check them locally) and expire within minutes.

use axum::http::StatusCode;

use super::sign_in::with_query;
use super::token::{Credentials, confidential_client, public_client};
use super::{Params, param};
use crate::error::IamError;
use crate::tokens::{self, digest};
use crate::{App, store};

/// `POST /revoke`: `token`, optional `token_type_hint`, and the client (`client_id` for
/// public clients; HTTP Basic or `client_secret` for confidential ones).
///
/// A refresh token ends its whole sign-in (every token rotated from it: RFC 7009 2.1 lets the
/// server revoke the grant). An access token is `unsupported_token_type`: it cannot be
/// revoked, and saying it was would claim it stopped working. Unknown tokens are fine, as
/// the RFC asks (the client cannot do anything better with an error).
pub(crate) async fn revoke(app: &App, basic: Credentials, p: &Params) -> Result<(), IamError> {
    let client_id = authenticate(app, basic, p).await?;
    let token = param(p, "token");
    if token.is_empty() {
        return Err(IamError::invalid_request("token is required"));
    }
    let mut work = app.ctx.begin().await?;
    if let Some(refresh) = store::refresh(&mut work, &digest(token)).await? {
        if refresh.client_id != client_id {
            return Err(IamError::invalid_grant(
                "the token was issued to another client",
            ));
        }
        store::revoke_family(&mut work, &refresh.family_id, app.now()).await?;
        work.commit().await?;
        return Ok(());
    }
    drop(work);
    if tokens::is_own_access_token(app, token).await {
        return Err(IamError::OAuth {
            status: StatusCode::BAD_REQUEST,
            error: "unsupported_token_type",
            description: "access tokens cannot be revoked; they expire within minutes. \
                          Revoke the refresh token to end the sign-in."
                .into(),
        });
    }
    Ok(())
}

/// The id of the client making a revocation request: a confidential client by its secret
/// (HTTP Basic or form), else a registered public client by its id.
async fn authenticate(app: &App, basic: Credentials, p: &Params) -> Result<String, IamError> {
    let (id, secret) = basic.unwrap_or_else(|| {
        (
            param(p, "client_id").to_owned(),
            param(p, "client_secret").to_owned(),
        )
    });
    if secret.is_empty() {
        return Ok(public_client(app, &id).await?.id);
    }
    Ok(confidential_client(app, &id, &secret).await?.id)
}

/// The MCF web apps' sign-out (`client_id`, `refresh_token`): that sign-in ends. Nothing
/// says whether the token existed. Not an OAuth endpoint: an unknown client is refused as
/// every MCF API refuses (problem+json).
pub(crate) async fn sign_out(app: &App, p: &Params) -> Result<(), IamError> {
    let client = public_client(app, param(p, "client_id"))
        .await
        .map_err(|e| match e {
            IamError::OAuth { .. } => IamError::UnknownClient,
            other => other,
        })?;
    let mut work = app.ctx.begin().await?;
    if let Some(token) = store::refresh(&mut work, &digest(param(p, "refresh_token"))).await?
        && token.client_id == client.id
    {
        store::revoke_family(&mut work, &token.family_id, app.now()).await?;
    }
    work.commit().await?;
    Ok(())
}

/// How RP-Initiated Logout ended.
pub(crate) enum Ended {
    /// Signed out; back to the client here (with `state`).
    Redirect(String),
    /// Signed out; nowhere to go back to.
    SignedOut,
    /// Not trusted to redirect, or not understood: the page says why.
    Refused(&'static str),
}

/// RP-Initiated Logout: ends the sign-in the `id_token_hint` names, then sends the browser
/// to `post_logout_redirect_uri` (only one registered for the client, with `state`). Requests
/// that cannot be trusted to redirect get a page, never a redirect (no open redirector).
pub(crate) async fn end_session(app: &App, p: &Params) -> Result<Ended, IamError> {
    let hint = match p.get("id_token_hint").filter(|h| !h.is_empty()) {
        Some(h) => match tokens::read_id_token_hint(app, h).await {
            Some(hint) => Some(hint),
            None => {
                return Ok(Ended::Refused(
                    "The id_token_hint is not an ID token we issued.",
                ));
            }
        },
        None => None,
    };
    let client_id = match (param(p, "client_id"), &hint) {
        ("", None) => None,
        ("", Some(h)) => Some(h.aud.clone()),
        (id, Some(h)) if id != h.aud => {
            return Ok(Ended::Refused(
                "The client_id does not match the id_token_hint.",
            ));
        }
        (id, _) => Some(id.to_owned()),
    };
    let client = match &client_id {
        Some(id) => {
            let mut conn = app.ctx.db.pool().acquire().await?;
            match store::client(&mut conn, id)
                .await?
                .filter(|c| !c.confidential)
            {
                Some(c) => Some(c),
                None => return Ok(Ended::Refused("Unknown client_id.")),
            }
        }
        None => None,
    };
    let back = match p.get("post_logout_redirect_uri").filter(|u| !u.is_empty()) {
        Some(uri) => {
            let Some(client) = client.as_ref() else {
                return Ok(Ended::Refused(
                    "A post_logout_redirect_uri needs a client_id or an id_token_hint.",
                ));
            };
            if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
                return Ok(Ended::Refused(
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
        let mut work = app.ctx.begin().await?;
        store::revoke_family_of(&mut work, sid, account, app.now()).await?;
        work.commit().await?;
    }
    Ok(match back {
        Some(uri) => Ended::Redirect(with_query(&uri, &[("state", param(p, "state"))])),
        None => Ended::SignedOut,
    })
}
