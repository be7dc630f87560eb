//! The front page and the language switch.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use crate::Portal;
use crate::i18n::Lang;
use crate::web::{Chrome, Current, PageResult, language_cookie, local_path, render, see_other};

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    c: Chrome,
}

/// `GET /`: what the person can do (their menus), or signing in and applying.
pub async fn home(current: Current) -> PageResult {
    render(&Home {
        c: current.chrome("page.home"),
    })
}

/// `GET /lang/{tag}?back=`.
#[derive(Debug, Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// The language switch: kept in a cookie, then back to the page.
pub async fn switch_language(
    State(portal): State<Portal>,
    current: Current,
    Path(tag): Path<String>,
    Query(q): Query<Back>,
) -> PageResult {
    let lang = Lang::parse(&tag).unwrap_or_default();
    // Signed in: the account's language too, so mails follow the switch.
    if let Some(user) = &current.session.user {
        portal.tell_language(user, lang).await;
    }
    let jar = CookieJar::new().add(language_cookie(lang));
    Ok((jar, see_other(&local_path(q.back.as_deref()))).into_response())
}
