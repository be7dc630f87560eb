//! Signing in with a password: the authorization request checked, the password guessed
//! within the budget (`guesses`), and a single-use code sent back to the client.

use std::net::IpAddr;

use super::guesses::Guesses;
use super::{Params, param};
use crate::App;
use crate::domain::account::{Account, Status, normalize_email};
use crate::domain::pkce;
use crate::error::IamError;
use crate::store::{self, Code};
use crate::tokens::{digest, random_token};

/// Why an authorization request goes no further.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// About the client or its redirect URI: shown as a page, never redirected (IAM would
    /// be an open redirector).
    Page(&'static str),
    /// Anything else: sent back to the (verified) redirect URI as OAuth says.
    Back { location: String },
    /// A refusal or failure of IAM's own (problem+json or OAuth JSON).
    Failed(IamError),
}

impl From<IamError> for Refusal {
    fn from(e: IamError) -> Self {
        Refusal::Failed(e)
    }
}

/// How a sign-in with a password ended.
pub(crate) enum SignIn {
    /// Signed in: the browser goes here, with the code.
    Redirect(String),
    /// Too many failed guesses: blocked for this many more seconds.
    Blocked(i64),
    /// Wrong e-mail or password (which one is not said).
    Wrong,
}

/// Checks the authorization request `p`; the verified redirect URI.
pub(crate) async fn check_request(app: &App, p: &Params) -> Result<String, Refusal> {
    let mut conn = app.ctx.db.pool().acquire().await.map_err(IamError::from)?;
    let client = store::client(&mut conn, param(p, "client_id"))
        .await
        .map_err(IamError::from)?
        .filter(|c| !c.confidential)
        .ok_or(Refusal::Page("unknown client_id"))?;
    let redirect = param(p, "redirect_uri");
    if !client.redirect_uris.iter().any(|u| u == redirect) {
        return Err(Refusal::Page(
            "redirect_uri is not registered for this client",
        ));
    }
    let back = |error: &str, description: &str| Refusal::Back {
        location: with_query(
            redirect,
            &[
                ("error", error),
                ("error_description", description),
                ("state", param(p, "state")),
            ],
        ),
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

/// The sign-in form of the authorization request `p` (with `email` and `password`), from
/// `peer`: throttled per account and per source address before any password is checked.
pub(crate) async fn sign_in(app: &App, peer: IpAddr, p: &Params) -> Result<SignIn, Refusal> {
    let redirect = check_request(app, p).await?;
    let email = param(p, "email");
    let guesses = Guesses::new(email, peer);
    if let Some(seconds) = guesses.blocked_for_s(app).await? {
        return Ok(SignIn::Blocked(seconds));
    }
    let Some(account) = account_of(app, email, param(p, "password")).await? else {
        guesses.failed(app).await?;
        return Ok(SignIn::Wrong);
    };
    let mut work = app.ctx.begin().await.map_err(IamError::from)?;
    guesses.succeeded(&mut work).await?;
    work.commit().await.map_err(IamError::from)?;
    Ok(SignIn::Redirect(
        issue_code(app, p, &redirect, &account).await?,
    ))
}

/// The account behind good credentials, if active.
async fn account_of(app: &App, email: &str, password: &str) -> Result<Option<Account>, IamError> {
    let found = match normalize_email(email) {
        Ok(email) => {
            let mut conn = app.ctx.db.pool().acquire().await?;
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

/// Finishes an authorization request for a signed-in account: a single-use code; returns
/// the client's (verified) redirect URI with it.
pub(crate) async fn issue_code(
    app: &App,
    p: &Params,
    redirect: &str,
    account: &Account,
) -> Result<String, IamError> {
    let code = random_token(32);
    let mut work = app.ctx.begin().await?;
    store::insert_code(
        &mut work,
        &digest(&code),
        &Code {
            client_id: param(p, "client_id").to_owned(),
            account_id: account.id,
            redirect_uri: redirect.to_owned(),
            code_challenge: param(p, "code_challenge").to_owned(),
            scope: param(p, "scope").to_owned(),
            nonce: p.get("nonce").cloned(),
            expires_at: app.now() + app.config.code_ttl_s as i64 * 1_000_000,
        },
    )
    .await?;
    work.commit().await?;
    Ok(with_query(
        redirect,
        &[("code", &code), ("state", param(p, "state"))],
    ))
}

/// `uri` with the non-empty `pairs` added to its query.
pub(crate) fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let query: String = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", web::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    if query.is_empty() {
        return uri.to_owned();
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}
