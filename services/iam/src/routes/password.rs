//! Set-password and reset links: a long random token, stored hashed, single use, expiring.
//! Admins (and, with the mail issue, IAM itself) create them; the person opens the link and
//! chooses a password. Using a link signs the account out everywhere.

use std::collections::BTreeMap;

use auth::Principal;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};
use web::Json;

use super::page;
use crate::App;
use crate::domain::account::check_password;
use crate::error::IamError;
use crate::store;
use crate::tokens::{digest, random_token};

/// How long a link works.
const LINK_TTL_S: i64 = 72 * 3600;

/// `POST /accounts/{id}/password-link` (admins): a link for the person to set a password.
pub async fn create_link(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), IamError> {
    who.require(&[auth::Role::Admin])?;
    let mut tx = app.rt.db.begin().await?;
    let account = store::account(&mut tx, &id)
        .await?
        .ok_or(IamError::NotFound("account"))?;
    let (link, expires_at) = new_link(&app, &mut tx, &account.id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"link": link, "expires_at": storage::time(expires_at)})),
    ))
}

/// Makes a set-password link for `account_id` inside the caller's transaction; returns the
/// URL and its expiry (unix µs).
pub async fn new_link(
    app: &App,
    conn: &mut storage::AnyConnection,
    account_id: &str,
) -> Result<(String, i64), IamError> {
    let token = random_token(32);
    let expires_at = storage::now_micros() + LINK_TTL_S * 1_000_000;
    store::insert_password_link(conn, &digest(&token), account_id, "set", expires_at).await?;
    Ok((format!("{}/password?token={token}", app.issuer), expires_at))
}

type Params = BTreeMap<String, String>;

/// `GET /password?token=`: the form, if the link still works.
pub async fn page(State(app): State<App>, Query(p): Query<Params>) -> Result<Response, IamError> {
    let token = p.get("token").map(String::as_str).unwrap_or("");
    let mut conn = app.rt.db.pool().acquire().await?;
    if !store::password_link_usable(&mut conn, &digest(token)).await? {
        return Ok((
            StatusCode::GONE,
            Html(page::error(
                "This link was already used or has expired. Ask for a new one.",
            )),
        )
            .into_response());
    }
    Ok(Html(page::set_password(token, None)).into_response())
}

/// `POST /password` (form: token, password): sets the password once.
pub async fn set(State(app): State<App>, Form(p): Form<Params>) -> Result<Response, IamError> {
    let token = p.get("token").map(String::as_str).unwrap_or("");
    let password = p.get("password").map(String::as_str).unwrap_or("");
    if let Err(IamError::Invalid { message, .. }) = check_password(password) {
        let html = page::set_password(token, Some(&format!("The password {message}.")));
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response());
    }
    let hash = app.passwords.hash(password).await?;
    let mut tx = app.rt.db.begin().await?;
    let Some(account_id) = store::use_password_link(&mut tx, &digest(token)).await? else {
        return Ok((
            StatusCode::GONE,
            Html(page::error(
                "This link was already used or has expired. Ask for a new one.",
            )),
        )
            .into_response());
    };
    store::set_password(&mut tx, &account_id, &hash).await?;
    store::revoke_account_tokens(&mut tx, &account_id).await?;
    tx.commit().await?;
    Ok(Html(page::message(
        "Password set",
        "Your password is set. You can now sign in.",
    ))
    .into_response())
}
