//! `/password`: the set-password page a link opens, and its form. Public: the link's token
//! is the credential.

use std::net::SocketAddr;

use auth::{Access, Route, Routes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use web::{Form, Query};

use super::page::{Lang, Pages};
use super::{HTML, PROBLEM, page};
use crate::App;
use crate::app::forgot_password::{Outcome as ForgotOutcome, forgot_password};
use crate::app::set_password::{Outcome, set_password, usable};
use crate::app::{Params, param};
use crate::error::IamError;

/// `GET /password?token=`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LinkQuery {
    /// The link's token.
    pub token: Option<String>,
    /// The page's language (`en`, `ru`): mailed links carry the recipient's.
    pub lang: Option<String>,
}

/// `POST /password/forgot` (a form).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ForgotForm {
    /// The account's e-mail address.
    pub email: Option<String>,
    /// The language of the answer page (the form carries its own).
    pub lang: Option<String>,
}

/// `POST /password` (a form; other fields are ignored).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SetPasswordForm {
    pub token: Option<String>,
    /// 12 to 200 characters.
    pub password: Option<String>,
    /// The language of the answer page (the form carries its own).
    pub lang: Option<String>,
}

/// `GET /password/forgot?lang=`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LangQuery {
    /// The page's language (`en`, `ru`); else the language cookie or `Accept-Language`.
    pub lang: Option<String>,
}

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::get("/password", Access::Public)
                .summary("The set-password form, if the link still works (410 if not)")
                .query::<LinkQuery>()
                .returns_media(StatusCode::OK, HTML)
                .returns_media(StatusCode::GONE, HTML),
            show,
        )
        .route(
            Route::post("/password", Access::Public)
                .summary("Set the password, once per link")
                .form::<SetPasswordForm>()
                .returns_media(StatusCode::OK, HTML)
                .returns_media(StatusCode::GONE, HTML)
                .returns_media(StatusCode::UNPROCESSABLE_ENTITY, HTML)
                .returns_media(StatusCode::UNPROCESSABLE_ENTITY, PROBLEM)
                .returns_media(StatusCode::TOO_MANY_REQUESTS, HTML),
            set,
        )
        .route(
            Route::get("/password/forgot", Access::Public)
                .summary("The \"forgot your password?\" form")
                .query::<LangQuery>()
                .returns_media(StatusCode::OK, HTML),
            forgot_page,
        )
        .route(
            Route::post("/password/forgot", Access::Public)
                .summary("Mail a set-password link to the address if it has an account (the same answer either way)")
                .form::<ForgotForm>()
                .returns_media(StatusCode::OK, HTML)
                .returns_media(StatusCode::TOO_MANY_REQUESTS, HTML),
            forgot,
        )
}

async fn forgot_page(headers: HeaderMap, Query(p): Query<Params>) -> Html<String> {
    Html(page::forgot(Lang::pick(&p, &headers)))
}

async fn forgot(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Result<Response, IamError> {
    let lang = Lang::pick(&p, &headers);
    Ok(
        match forgot_password(&app, peer.ip(), param(&p, "email")).await? {
            ForgotOutcome::Answered => Html(page::check_mail(lang)).into_response(),
            ForgotOutcome::Throttled(wait) => too_many(lang, wait),
        },
    )
}

/// 429 with `Retry-After` for a source blocked `wait` µs more.
fn too_many(lang: Lang, wait: i64) -> Response {
    let seconds = (wait + 999_999) / 1_000_000;
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, seconds.to_string())],
        Html(page::error(lang, &lang.too_many_attempts(seconds))),
    )
        .into_response()
}

async fn show(
    State(app): State<App>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Response, IamError> {
    let lang = Lang::pick(&p, &headers);
    let token = param(&p, "token");
    if !usable(&app, token).await? {
        return Ok(link_gone(lang));
    }
    Ok(Html(page::set_password(lang, token, None)).into_response())
}

async fn set(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Result<Response, IamError> {
    let lang = Lang::pick(&p, &headers);
    let token = param(&p, "token");
    Ok(
        match set_password(&app, peer.ip(), token, param(&p, "password")).await? {
            Outcome::Set => Html(page::password_set(lang)).into_response(),
            Outcome::Gone => link_gone(lang),
            Outcome::Refused(message) => {
                let refusal = lang.password_refused(&message);
                let html = page::set_password(lang, token, Some(&refusal));
                (StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response()
            }
            Outcome::Throttled(wait) => too_many(lang, wait),
        },
    )
}

fn link_gone(lang: Lang) -> Response {
    (StatusCode::GONE, Html(page::error(lang, lang.link_gone()))).into_response()
}
