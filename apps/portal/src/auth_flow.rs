//! Signing in and out: the portal as an OpenID Connect client of IAM (authorization code
//! with PKCE, the public client `mcf-web`), and the access token refreshed before it
//! expires.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum_extra::extract::cookie::CookieJar;
use chrono::Utc;
use iam::client::{IamClient, LanguageChoice, LogoutRequest, TokenRequest, TokenResponse};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::Portal;
use crate::form::Fields;
use crate::i18n::{self, Lang};
use crate::session::{Pending, Session, User, random_token};
use crate::web::{Current, PageError, PageResult, local_path, see_other, urlencode, with_session};

/// The registered public client of MCF's web apps.
pub const CLIENT_ID: &str = "mcf-web";

/// `GET /sign-in?back=`.
#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    back: Option<String>,
}

/// Sends the browser to IAM's sign-in page with a fresh `state` and PKCE challenge, kept
/// in the session for the callback, and the portal's language as `ui_locales` so the
/// sign-in page speaks it too.
pub async fn sign_in(
    State(portal): State<Portal>,
    current: Current,
    Query(q): Query<SignInQuery>,
) -> PageResult {
    let (verifier, challenge) = iam::domain::pkce::new_pair();
    let state = random_token();
    let settings = portal.settings();
    let url = authorize_url(
        &settings.issuer,
        &settings.callback_url(),
        &state,
        &challenge,
        current.lang,
    );
    let mut session = current.session.clone();
    session.pending = Some(Pending {
        state,
        verifier,
        back: local_path(q.back.as_deref()),
    });
    Ok(with_session(see_other(&url), session))
}

/// IAM's authorization request for `state` and the PKCE `challenge`, asking for the
/// sign-in page in `lang` (`ui_locales`, OpenID Connect Core 3.1.2.1).
fn authorize_url(issuer: &str, callback: &str, state: &str, challenge: &str, lang: Lang) -> String {
    format!(
        "{}/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri={}&scope={}&state={state}&code_challenge={challenge}&code_challenge_method=S256&ui_locales={}",
        issuer.trim_end_matches('/'),
        urlencode(callback),
        urlencode("openid profile email offline_access"),
        lang.tag(),
    )
}

/// `GET /auth/callback?code=&state=` (or `error=`).
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// IAM sends the browser back: the code is redeemed (with the verifier) for tokens, the
/// person's name and roles read, and the session signed in.
pub async fn callback(
    State(portal): State<Portal>,
    current: Current,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> PageResult {
    let mut session = current.session.clone();
    let pending = session.pending.take();
    let matching =
        pending.filter(|p| q.state.as_deref() == Some(p.state.as_str()) && q.error.is_none());
    let (Some(pending), Some(code)) = (matching, q.code) else {
        // A stale or forged answer, or a sign-in refused at IAM: start again.
        return Ok(with_session(see_other("/"), session));
    };
    let iam = portal.iam()?;
    let tokens = iam
        .token(&TokenRequest {
            grant_type: Some("authorization_code".into()),
            client_id: Some(CLIENT_ID.into()),
            code: Some(code),
            redirect_uri: Some(portal.settings().callback_url()),
            code_verifier: Some(pending.verifier),
            ..TokenRequest::default()
        })
        .await
        .map_err(|e| PageError::Unavailable(e.to_string()))?;
    let user = portal.user_of(tokens).await?;
    // The language the person reads here (the switch's, else their browser's) becomes
    // their account's, so mails are written in it. Not when the browser said nothing: the
    // default is no choice. IAM keeps an unchanged choice without announcing it again.
    let said = headers.contains_key(header::ACCEPT_LANGUAGE)
        || CookieJar::from_headers(&headers)
            .get(i18n::COOKIE)
            .is_some();
    if said {
        portal.tell_language(&user, current.lang).await;
    }
    session.user = Some(user);
    // A new sign-in, a new CSRF token: a token seen before signing in is worth nothing.
    session.csrf = random_token();
    Ok(with_session(see_other(&pending.back), session))
}

/// `POST /sign-out`: the sign-in ends at IAM (its refresh tokens stop working) and here.
pub async fn sign_out(State(portal): State<Portal>, current: Current, _form: Fields) -> PageResult {
    if let Some(user) = &current.session.user {
        let ended = portal
            .iam()?
            .logout(&LogoutRequest {
                client_id: Some(CLIENT_ID.into()),
                refresh_token: Some(user.refresh_token.clone()),
                ..LogoutRequest::default()
            })
            .await;
        if let Err(e) = ended {
            // Signed out here all the same; the refresh token expires on its own.
            tracing::warn!(error = %e, "IAM did not end a portal sign-in");
        }
    }
    Ok(with_session(see_other("/"), Session::new()))
}

/// Refreshes done lately, by the refresh token they used: IAM rotates refresh tokens and
/// takes a second use of one as theft (ending the whole sign-in), so requests of one
/// browser arriving together (a page and its photos) share one refresh.
#[derive(Default)]
pub struct Refreshes {
    done: Mutex<HashMap<String, (Instant, Option<User>)>>,
}

/// How long a refresh's result is handed to other requests that bring the old token.
const SHARED_FOR: Duration = Duration::from_secs(60);

impl Portal {
    /// Tells IAM the language `user` reads (`PUT /me/language`, with their token). A
    /// failure only costs their mails' language, so it is logged, never shown.
    pub(crate) async fn tell_language(&self, user: &User, lang: Lang) {
        let told = match self.api("iam", user) {
            Ok(api) => IamClient(api)
                .set_language(&LanguageChoice {
                    language: lang.tag().to_owned(),
                })
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Err(e) => Err(format!("{e:?}")),
        };
        if let Err(error) = told {
            tracing::warn!(%error, "IAM was not told a person's language");
        }
    }

    /// IAM's API, called by the portal itself (no person's token).
    pub(crate) fn iam(&self) -> Result<IamClient, PageError> {
        Ok(IamClient(self.anonymous("iam")?))
    }

    /// A service's API without a token (the public routes: applying, taking tests).
    pub(crate) fn anonymous(&self, service: &str) -> Result<client::Client, PageError> {
        // The peers hand out clients with a token; the public routes take none.
        Ok(self
            .settings()
            .peers
            .client_with(service, "-")?
            .without_token())
    }

    /// A service's API called with `user`'s token.
    pub(crate) fn api(&self, service: &str, user: &User) -> Result<client::Client, PageError> {
        Ok(self
            .settings()
            .peers
            .client_with(service, &user.access_token)?)
    }

    /// The person the tokens are for (IAM's userinfo).
    async fn user_of(&self, tokens: TokenResponse) -> Result<User, PageError> {
        let api = self.anonymous("iam")?.with_token(&tokens.access_token);
        let info = IamClient(api)
            .userinfo()
            .await
            .map_err(|e| PageError::Unavailable(e.to_string()))?;
        let lifetime = i64::try_from(tokens.expires_in).unwrap_or(i64::MAX);
        Ok(User {
            id: info.sub.to_string(),
            name: info.name,
            email: info.email,
            roles: info.roles,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token.unwrap_or_default(),
            expires_at: Utc::now().timestamp().saturating_add(lifetime),
        })
    }

    /// `user` with fresh tokens, or `None` when the sign-in ended (the refresh token was
    /// revoked, expired, or IAM does not answer).
    pub(crate) async fn refreshed(&self, user: &User) -> Option<User> {
        let mut done = self.inner.refreshes.done.lock().await;
        done.retain(|_, (at, _)| at.elapsed() < SHARED_FOR);
        if let Some((_, result)) = done.get(&user.refresh_token) {
            return result.clone();
        }
        let result = self.refresh(user).await;
        done.insert(user.refresh_token.clone(), (Instant::now(), result.clone()));
        result
    }

    async fn refresh(&self, user: &User) -> Option<User> {
        let tokens = self
            .iam()
            .ok()?
            .token(&TokenRequest {
                grant_type: Some("refresh_token".into()),
                client_id: Some(CLIENT_ID.into()),
                refresh_token: Some(user.refresh_token.clone()),
                ..TokenRequest::default()
            })
            .await;
        match tokens {
            Ok(tokens) => {
                let lifetime = i64::try_from(tokens.expires_in).unwrap_or(i64::MAX);
                Some(User {
                    access_token: tokens.access_token,
                    refresh_token: tokens
                        .refresh_token
                        .unwrap_or_else(|| user.refresh_token.clone()),
                    expires_at: Utc::now().timestamp().saturating_add(lifetime),
                    ..user.clone()
                })
            }
            Err(e) => {
                tracing::info!(error = %e, "a portal sign-in could not be refreshed");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_request_asks_iam_for_the_portals_language() {
        let url = |lang| authorize_url("http://iam.test/", "http://p.test/cb", "s", "c", lang);
        let ru = url(Lang::Ru);
        assert!(ru.starts_with("http://iam.test/authorize?"), "{ru}");
        assert!(ru.ends_with("&ui_locales=ru"), "{ru}");
        assert!(url(Lang::En).ends_with("&ui_locales=en"));
        assert!(ru.contains("&state=s&code_challenge=c&code_challenge_method=S256"));
    }
}
