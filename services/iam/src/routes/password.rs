//! Set-password and reset links: a long random token, stored hashed, single use, expiring.
//! Admins (and, with the mail issue, IAM itself) create them; the person opens the link and
//! chooses a password. Using a link signs the account out everywhere.

use std::collections::BTreeMap;

use auth::Principal;
use std::net::SocketAddr;
use web::Form;

use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};
use web::{Json, Path, Query};

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
    let account = store::account_by_text(&mut tx, &id)
        .await?
        .ok_or(IamError::NotFound("account"))?;
    let (link, expires_at) = new_link(&app, &mut tx, account.id).await?;
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
    account_id: contracts::AccountId,
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
///
/// This is public, and an argon2 hash costs ~19 MiB and a core for a while, so nothing is
/// hashed for a link that does not work: the link is looked up first (a read), and a source
/// that keeps presenting unknown or spent links is throttled with the sign-in policy (per
/// address, growing, always-ending blocks), answered 429 before any lookup. The count lives
/// in memory: links are unguessable, so this is about load, not guessing, and a database
/// write per refused request is what a flood from many addresses would cost.
pub async fn set(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(p): Form<Params>,
) -> Result<Response, IamError> {
    let token = p.get("token").map(String::as_str).unwrap_or("");
    let password = p.get("password").map(String::as_str).unwrap_or("");
    let now = storage::now_micros();
    if let Some(response) = throttled(app.link_throttle.blocked_for(peer.ip(), now)) {
        return Ok(response);
    }
    let usable = {
        let mut conn = app.rt.db.pool().acquire().await?;
        store::password_link_usable(&mut conn, &digest(token)).await?
    };
    if !usable {
        app.link_throttle.fail(peer.ip(), now);
        return Ok(link_gone());
    }
    if let Err(IamError::Invalid { message, .. }) = check_password(password) {
        let html = page::set_password(token, Some(&format!("The password {message}.")));
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response());
    }
    let hash = app.passwords.hash(password).await?;
    let mut tx = app.rt.db.begin().await?;
    // Used atomically here: of two requests racing with one link, one sets the password.
    let Some(account_id) = store::use_password_link(&mut tx, &digest(token)).await? else {
        return Ok(link_gone());
    };
    store::set_password(&mut tx, account_id, &hash).await?;
    store::revoke_account_tokens(&mut tx, account_id).await?;
    tx.commit().await?;
    Ok(Html(page::message(
        "Password set",
        "Your password is set. You can now sign in.",
    ))
    .into_response())
}

fn link_gone() -> Response {
    (
        StatusCode::GONE,
        Html(page::error(
            "This link was already used or has expired. Ask for a new one.",
        )),
    )
        .into_response()
}

/// 429 with `Retry-After` while blocked for `wait` more microseconds.
fn throttled(wait: i64) -> Option<Response> {
    (wait > 0).then(|| {
        let seconds = (wait + 999_999) / 1_000_000;
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, seconds.to_string())],
            Html(page::error(&format!(
                "Too many attempts with links that do not work. Try again in {seconds} s."
            ))),
        )
            .into_response()
    })
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, SocketAddr};

    use axum::extract::{ConnectInfo, State};
    use web::Form;

    use super::*;
    use crate::domain::account::{Account, Status};
    use crate::domain::throttle::ADDRESS;

    async fn post(app: &App, from: [u8; 4], token: &str) -> StatusCode {
        let peer = SocketAddr::new(IpAddr::from(from), 40000);
        let form = Params::from([
            ("token".to_owned(), token.to_owned()),
            ("password".to_owned(), "a-long-enough-password".to_owned()),
        ]);
        set(State(app.clone()), ConnectInfo(peer), Form(form))
            .await
            .unwrap()
            .status()
    }

    /// Links that do not work cost a lookup, never a hash, and a source presenting them is
    /// throttled; a real link from elsewhere still works, once.
    #[tokio::test]
    async fn bad_links_are_never_hashed_and_their_source_is_throttled() {
        let dir = tempfile::tempdir().unwrap();
        let app = crate::test_app(dir.path()).await;
        let account = Account {
            id: contracts::AccountId::new(),
            email: "luna@cats.test".into(),
            name: "Luna".into(),
            roles: vec![auth::Role::Worker],
            status: Status::Active,
        };
        let mut tx = app.rt.db.begin().await.unwrap();
        store::insert_account(&mut tx, &account, None)
            .await
            .unwrap();
        let (link, _) = new_link(&app, &mut tx, account.id).await.unwrap();
        tx.commit().await.unwrap();
        let token = link.split("token=").nth(1).unwrap().to_owned();

        let attacker = [10, 0, 0, 66];
        for i in 0..=ADDRESS.limit {
            assert_eq!(
                post(&app, attacker, &format!("made-up-{i}")).await,
                StatusCode::GONE
            );
        }
        assert_eq!(
            post(&app, attacker, "made-up-again").await,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(app.passwords.computed(), 0, "no link, no hash");

        let person = [10, 0, 0, 7];
        assert_eq!(post(&app, person, &token).await, StatusCode::OK);
        assert_eq!(app.passwords.computed(), 1);
        assert_eq!(post(&app, person, &token).await, StatusCode::GONE);
        assert_eq!(
            app.passwords.computed(),
            1,
            "a spent link is not hashed either"
        );
    }
}
