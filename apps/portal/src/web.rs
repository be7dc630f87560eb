//! The plumbing every page shares: the session read (and its token refreshed) before a
//! page runs and written after, who is asking, the frame around each page (menus, language
//! switch), failures shown as pages, and the static files.

use std::collections::BTreeMap;

use askama::Template;
use auth::Role;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, PrivateCookieJar};
use chrono::{DateTime, Utc};
use client::ClientError;
use contracts::Money;

use crate::Portal;
use crate::i18n::{self, Lang, Speak};
use crate::session::{COOKIE, Session, User};

/// Who is asking, in which language, from which page: put in place by [`session_layer`]
/// before every page.
#[derive(Debug, Clone)]
pub struct Current {
    pub session: Session,
    pub lang: Lang,
    /// The path and query asked for (where to come back to after signing in).
    pub path: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Current {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Current>()
            .cloned()
            .ok_or_else(|| PageError::Unexpected("no session layer".into()))
    }
}

impl Current {
    /// The signed-in person, or a trip to sign in first.
    pub fn user(&self) -> Result<&User, PageError> {
        self.session
            .user
            .as_ref()
            .ok_or_else(|| PageError::SignIn(self.path.clone()))
    }

    /// The signed-in person if they have one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<&User, PageError> {
        let user = self.user()?;
        if user.has_any(roles) {
            Ok(user)
        } else {
            Err(PageError::Forbidden)
        }
    }

    /// The frame of a page: its language, the CSRF token of its forms, the menus of the
    /// person's roles.
    pub fn chrome(&self, title: &'static str) -> Chrome {
        let user = self.session.user.as_ref();
        let mut menu = Vec::new();
        let mut add = |href: &'static str, key: &'static str| {
            let current = self.path == href
                || (href != "/" && self.path.starts_with(&format!("{href}/")))
                || self.path.starts_with(&format!("{href}?"));
            menu.push(MenuItem {
                href,
                label: self.lang.t(key),
                current,
            });
        };
        match user {
            None => {
                add("/apply", "menu.apply");
            }
            Some(user) => {
                let has = |role| user.roles.contains(&role);
                if has(Role::Client) {
                    add("/orders", "menu.orders");
                    add("/orders/new", "menu.new_order");
                }
                if has(Role::Worker) {
                    add("/jobs", "menu.jobs");
                }
                if has(Role::Client) || has(Role::Worker) {
                    add("/money", "menu.money");
                }
                if has(Role::Supply) {
                    add("/kits", "menu.kits");
                    add("/stock", "menu.stock");
                }
                if has(Role::Manager) {
                    add("/hiring", "menu.hiring");
                    add("/catalog", "menu.catalog");
                    add("/workers", "menu.workers");
                    add("/quality", "menu.quality");
                    add("/hypotheses", "menu.hypotheses");
                    add("/samples", "menu.samples");
                    add("/bets", "menu.bets");
                    add("/awards", "menu.awards");
                    add("/statements", "menu.statements");
                    add("/summary", "menu.summary");
                }
                if has(Role::Admin) {
                    add("/admin/accounts", "admin.accounts");
                    add("/admin/dead-letters", "admin.dead_letters");
                    add("/admin/mails", "admin.mails");
                    add("/admin/keys", "admin.keys");
                }
                add("/password", "menu.password");
            }
        }
        Chrome {
            lang: self.lang,
            title: self.lang.t(title),
            csrf: self.session.csrf.clone(),
            user_name: user.map(|u| u.name.clone()),
            menu,
            switch_href: format!(
                "/lang/{}?back={}",
                self.lang.other().tag(),
                urlencode(&self.path)
            ),
        }
    }
}

/// One entry of the menu.
#[derive(Debug, Clone)]
pub struct MenuItem {
    pub href: &'static str,
    pub label: &'static str,
    /// The page shown is this entry's (`aria-current`).
    pub current: bool,
}

/// The frame every page is drawn in (`templates/base.html`).
#[derive(Debug, Clone)]
pub struct Chrome {
    pub lang: Lang,
    pub title: &'static str,
    pub csrf: String,
    pub user_name: Option<String>,
    pub menu: Vec<MenuItem>,
    pub switch_href: String,
}

impl Chrome {
    /// The catalogue's text for `key`.
    pub fn t(&self, key: impl AsRef<str>) -> &'static str {
        self.lang.t(key.as_ref())
    }

    /// The tag of the other language (the switch's `lang`).
    pub fn other_tag(&self) -> &'static str {
        self.lang.other().tag()
    }

    /// Money as this language writes it.
    pub fn money(&self, money: impl Copied<Money>) -> String {
        self.lang.money(money.copied())
    }

    /// A moment as this language writes it.
    pub fn when(&self, at: impl Copied<DateTime<Utc>>) -> String {
        self.lang.datetime(at.copied())
    }

    /// An optional moment; empty for none.
    pub fn maybe_when(&self, at: impl Copied<Option<DateTime<Utc>>>) -> String {
        self.lang.maybe_datetime(at.copied())
    }
}

/// A value templates hand over as it is or behind references (askama passes fields and
/// loop items by reference, pattern bindings by double reference).
pub trait Copied<T> {
    fn copied(&self) -> T;
}

impl<T: Copy> Copied<T> for T {
    fn copied(&self) -> T {
        *self
    }
}

impl<T: Copy> Copied<T> for &T {
    fn copied(&self) -> T {
        **self
    }
}

impl<T: Copy> Copied<T> for &&T {
    fn copied(&self) -> T {
        ***self
    }
}

/// The hidden field of a creating form carrying its idempotency key: pressing twice, or the
/// browser sending again, creates once.
pub const KEY_FIELD: &str = "key";

/// What a form's fields were refused for, and what was typed (shown again).
#[derive(Debug, Clone, Default)]
pub struct FormState {
    /// Field name -> why it was refused.
    pub errors: BTreeMap<String, String>,
    /// Refusals that name no field.
    pub general: Option<String>,
    /// Field name -> the value typed.
    pub values: BTreeMap<String, String>,
}

impl FormState {
    /// The value typed into `field`, empty if none.
    pub fn v(&self, field: &str) -> &str {
        self.values
            .get(field)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// Why `field` was refused, empty if it was not.
    pub fn e(&self, field: &str) -> &str {
        self.errors
            .get(field)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// A creating form shown again with `refusal`: as typed, with a fresh idempotency key
    /// (the service remembers its answer under the one used).
    pub fn again(form: &crate::form::Fields, refusal: &Refusal) -> Self {
        let mut state = FormState::refused(form.values(), refusal);
        state
            .values
            .insert(KEY_FIELD.into(), crate::session::random_token());
        state
    }

    /// The form with an idempotency key made for it, if it has none yet.
    pub fn keyed(mut self) -> Self {
        if self.v(KEY_FIELD).is_empty() {
            self.values
                .insert(KEY_FIELD.into(), crate::session::random_token());
        }
        self
    }

    /// The form as typed, with `refusal` shown next to its field (or above the form).
    pub fn refused(values: BTreeMap<String, String>, refusal: &Refusal) -> Self {
        let mut state = FormState {
            values,
            ..FormState::default()
        };
        match &refusal.field {
            Some(field) => {
                state.errors.insert(field.clone(), refusal.message.clone());
            }
            None => state.general = Some(refusal.message.clone()),
        }
        state
    }
}

/// A service's refusal of what a person asked (4xx with problem+json): shown on the page,
/// next to the field it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub field: Option<String>,
    pub message: String,
}

impl Refusal {
    /// A refusal of `field` (the portal's own: a field it could not read).
    pub fn of(field: &str, message: &str) -> Self {
        Refusal {
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

/// What a form asked, or why the portal could not read it: sent on with `call` if it could
/// be read. The service's answer, or the refusal to show next to its field.
pub async fn submit<A, T, Fut>(
    asked: Result<A, Refusal>,
    call: impl FnOnce(A) -> Fut,
) -> Result<Result<T, Refusal>, PageError>
where
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    match asked {
        Ok(asked) => refusal(call(asked).await),
        Err(refused) => Ok(Err(refused)),
    }
}

/// `result`'s refusal, if the service refused (4xx with a problem other than "sign in" and
/// "not yours"), else the failure as a [`PageError`], else the value.
pub fn refusal<T>(result: Result<T, ClientError>) -> Result<Result<T, Refusal>, PageError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) => {
            let refused = e
                .problem()
                .filter(|p| (400..500).contains(&p.status) && !matches!(p.status, 401 | 403));
            match refused {
                Some(problem) => Ok(Err(Refusal {
                    field: problem.field.clone(),
                    message: problem.detail.clone(),
                })),
                None => Err(e.into()),
            }
        }
    }
}

/// Why a page could not be shown. Rendered by [`session_layer`] in the person's language.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Nobody is signed in (or their sign-in ended): sign in, then come back to this path.
    #[error("sign in first")]
    SignIn(String),
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// A form without this session's CSRF token.
    #[error("the form's CSRF token does not match")]
    Csrf,
    /// A request the portal cannot make sense of (a bad id in a path).
    #[error("bad request: {0}")]
    Bad(String),
    /// A service did not answer, or failed.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Unexpected(String),
}

impl From<ClientError> for PageError {
    fn from(e: ClientError) -> Self {
        match e.status().map(|s| s.as_u16()) {
            Some(401) => PageError::SignIn("/".into()),
            Some(403) => PageError::Forbidden,
            Some(404) => PageError::NotFound,
            Some(400..500) => PageError::Bad(
                e.problem()
                    .map(|p| p.detail.clone())
                    .unwrap_or_else(|| e.to_string()),
            ),
            _ => PageError::Unavailable(e.to_string()),
        }
    }
}

impl From<service::PeerError> for PageError {
    fn from(e: service::PeerError) -> Self {
        PageError::Unavailable(e.to_string())
    }
}

/// The failure, for [`session_layer`] to draw (it knows the language and the person).
#[derive(Debug, Clone)]
struct Failed {
    status: StatusCode,
    message_key: &'static str,
    detail: Option<String>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message_key, detail) = match self {
            PageError::SignIn(back) => {
                return Redirect::to(&format!("/sign-in?back={}", urlencode(&back)))
                    .into_response();
            }
            PageError::Forbidden => (StatusCode::FORBIDDEN, "error.forbidden", None),
            PageError::NotFound => (StatusCode::NOT_FOUND, "error.not_found", None),
            PageError::Csrf => (StatusCode::FORBIDDEN, "error.session", None),
            PageError::Bad(detail) => (StatusCode::BAD_REQUEST, "error.title", Some(detail)),
            PageError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "a service did not answer the portal");
                (StatusCode::SERVICE_UNAVAILABLE, "error.unavailable", None)
            }
            PageError::Unexpected(detail) => {
                tracing::error!(error = %detail, "portal page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "error.title", None)
            }
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(Failed {
            status,
            message_key,
            detail,
        });
        response
    }
}

/// A page's result.
pub type PageResult = Result<Response, PageError>;

/// `template` rendered as an HTML page.
pub fn render(template: &impl Template) -> PageResult {
    template
        .render()
        .map(|html| Html(html).into_response())
        .map_err(|e| PageError::Unexpected(format!("template: {e}")))
}

/// `template` rendered with `status` (a form shown again with its refusal: 422).
pub fn render_with(status: StatusCode, template: &impl Template) -> PageResult {
    let mut response = render(template)?;
    *response.status_mut() = status;
    Ok(response)
}

/// After a form did its work: back to a page (303, so reloading does not post again). The
/// session's next state, if it changed, goes with it.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A response that also replaces the session (sign-in, sign-out): [`session_layer`] writes
/// the cookie.
pub fn with_session(mut response: Response, session: Session) -> Response {
    response.extensions_mut().insert(NewSession(session));
    response
}

#[derive(Debug, Clone)]
struct NewSession(Session);

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
    message: &'static str,
    detail: Option<String>,
}

/// Before every page: the session from its cookie (a new anonymous one if there is none or
/// it does not open), its access token refreshed if it is about to expire (a refresh that
/// fails signs the person out), the language; after it: the session's cookie written if it
/// changed, and a failure drawn as a page.
pub async fn session_layer(State(portal): State<Portal>, mut req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let jar = PrivateCookieJar::from_headers(&headers, portal.inner.key.clone());
    let opened = jar.get(COOKIE).and_then(|c| Session::decode(c.value()));
    let mut changed = opened.is_none();
    let mut session = opened.unwrap_or_default();
    if let Some(user) = &session.user
        && user.needs_refresh(Utc::now().timestamp())
    {
        session.user = portal.refreshed(user).await;
        changed = true;
    }
    let lang = i18n::negotiate(
        CookieJar::from_headers(&headers)
            .get(i18n::COOKIE)
            .map(|c| c.value()),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let current = Current {
        session: session.clone(),
        lang,
        path,
    };
    req.extensions_mut().insert(current.clone());
    let mut response = next.run(req).await;
    if let Some(NewSession(new)) = response.extensions_mut().remove::<NewSession>() {
        session = new;
        changed = true;
    }
    if let Some(failed) = response.extensions_mut().remove::<Failed>() {
        let mut shown = current.clone();
        shown.session = session.clone();
        let page = ErrorPage {
            c: shown.chrome("error.title"),
            message: lang.t(failed.message_key),
            detail: failed.detail,
        };
        if let Ok(drawn) = render_with(failed.status, &page) {
            response = drawn;
        }
    }
    if changed {
        let jar = PrivateCookieJar::from_headers(&HeaderMap::new(), portal.inner.key.clone())
            .add(session.cookie(portal.inner.secure));
        for value in jar.into_response().headers().get_all(header::SET_COOKIE) {
            response
                .headers_mut()
                .append(header::SET_COOKIE, value.clone());
        }
    }
    // Pages carry a person's data and a CSRF token: never cached.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The language switch's cookie: kept, the whole site, readable by no script.
pub fn language_cookie(lang: Lang) -> Cookie<'static> {
    Cookie::build((i18n::COOKIE, lang.tag()))
        .path("/")
        .http_only(true)
        .same_site(axum_extra::extract::cookie::SameSite::Lax)
        .permanent()
        .build()
}

/// An id from a path (`/orders/{id}`), or "not found": a path that names nothing.
pub fn path_id<T: std::str::FromStr>(id: &str) -> Result<T, PageError> {
    id.parse().map_err(|_| PageError::NotFound)
}

/// A value's wire name (`worker_at_fault`, `client_charge`) as pages show it: words.
pub fn wire_name(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
        .unwrap_or_default()
}

/// Percent-encodes everything but RFC 3986's unreserved characters (a path in a query).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// `back` if it is a path of this site (`/...`, not `//host`), else `/`: where a sign-in or
/// a switch returns to must not send the person elsewhere.
pub fn local_path(back: Option<&str>) -> String {
    match back {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_owned(),
        _ => "/".into(),
    }
}

/// The one stylesheet: the portal's and IAM's sign-in pages.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/mcf.css"),
    )
}

/// htmx, served from the binary (no CDN).
pub async fn htmx() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../static/htmx.min.js"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(
            local_path(Some("/orders?status=active")),
            "/orders?status=active"
        );
        assert_eq!(local_path(Some("//evil.test/")), "/");
        assert_eq!(local_path(Some("https://evil.test/")), "/");
        assert_eq!(local_path(Some("/\\evil.test")), "/");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn a_refusal_names_its_field_and_keeps_what_was_typed() {
        let values = BTreeMap::from([("email".to_owned(), "x".to_owned())]);
        let refusal = Refusal {
            field: Some("email".into()),
            message: "not an e-mail address".into(),
        };
        let state = FormState::refused(values, &refusal);
        assert_eq!(state.e("email"), "not an e-mail address");
        assert_eq!(state.v("email"), "x");
        assert_eq!(state.e("name"), "");
        assert_eq!(state.general, None);
    }
}
