//! What a signed-in person does to their own account: change their password.

use std::net::SocketAddr;

use auth::Principal;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use web::{ApiError, Json};

use super::guesses::Guesses;
use crate::App;
use crate::domain::account::{Status, check_password};
use crate::error::IamError;
use crate::store;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `POST /me/password` (`current_password`, `new_password`): the person proves they know the
/// current password and chooses a new one (the first admin replaces the printed one so).
///
/// A wrong current password counts as a failed sign-in of the account and of the source
/// address, with the same blocks: a stolen access token must not become a way to guess the
/// password without the sign-in page's limits. On success every refresh token of the account
/// is revoked, so every session (this one too) ends when its access token expires; the
/// person signs in again with the new password.
pub async fn change_password(
    State(app): State<App>,
    who: Principal,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(change): Json<PasswordChange>,
) -> Result<Response, IamError> {
    check_password(&change.new_password).map_err(|e| match e {
        IamError::Invalid { message, .. } => IamError::invalid("new_password", &message),
        other => other,
    })?;
    if change.new_password == change.current_password {
        return Err(IamError::invalid(
            "new_password",
            "must differ from the current password",
        ));
    }
    let (account, hash) = {
        let mut conn = app.rt.db.pool().acquire().await?;
        let account = store::account(&mut conn, who.id)
            .await?
            .filter(|a| a.status == Status::Active)
            .ok_or(IamError::NotFound("account"))?;
        let (account, hash) = store::credentials(&mut conn, &account.email)
            .await?
            .ok_or(IamError::NotFound("account"))?;
        (account, hash)
    };
    // The sign-in page's budget: both count the same guesses.
    let guesses = Guesses::new(&account.email, peer.ip());
    if let Some(seconds) = guesses.blocked_for_s(&app).await? {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, seconds.into());
        return Ok((
            headers,
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many wrong passwords; try again in {seconds} s"),
            ),
        )
            .into_response());
    }
    if !app
        .passwords
        .verify(&change.current_password, hash.as_deref())
        .await?
    {
        guesses.failed(&app).await?;
        return Err(IamError::invalid("current_password", "is not right"));
    }
    let new_hash = app.passwords.hash(&change.new_password).await?;
    let mut tx = app.rt.db.begin().await?;
    store::set_password(&mut tx, account.id, &new_hash).await?;
    let ended = store::revoke_account_tokens(&mut tx, account.id).await?;
    guesses.succeeded(&mut tx).await?;
    tx.commit().await?;
    tracing::info!(account = %account.id, sessions_ended = ended, "password changed");
    Ok(Json(json!({"password_changed": true, "sessions_ended": ended})).into_response())
}
