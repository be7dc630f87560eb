//! The bank's own pages for people, like a real bank's hosted checkout: a client adds a card
//! (registers a payment method) and a worker opens an account without ever calling the API,
//! and the browser is sent back to the merchant's page with the token or number.
//!
//! `GET /hosted/card?holder=&return_to=&state=` shows the form; `POST /hosted/card` registers
//! the payment method and answers 303 to `return_to` with `payment_method=pm_...` and the
//! `state` it was given. `GET|POST /hosted/account` do the same for an account
//! (`payout_account=GH...`). A cancel link returns with `canceled=true` and the state.
//!
//! The merchant (MCF's portal) checks the `state` it made, so a link forged by someone else
//! does not change a person's bank details. A real bank would only return to addresses the
//! merchant registered; this sandbox returns to any `http://` or `https://` address.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Router};
use serde::Deserialize;

use crate::{MAX_TEXT, Sandbox};

/// What the merchant sends the browser with, and what the form posts back.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Hosted {
    /// The name to fill in (the person may change it).
    pub holder: String,
    /// Where the browser goes back to.
    pub return_to: String,
    /// The merchant's value, returned as it came.
    pub state: String,
    /// The form's sandbox switch: the card declines every collection.
    pub declines: Option<String>,
}

/// Which of the two pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Card,
    Account,
}

impl Kind {
    fn path(self) -> &'static str {
        match self {
            Kind::Card => "/hosted/card",
            Kind::Account => "/hosted/account",
        }
    }
}

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            Kind::Card.path(),
            axum::routing::get(|q: Query<Hosted>| async move { form(Kind::Card, &q.0, None) })
                .post(add_card),
        )
        .route(
            Kind::Account.path(),
            axum::routing::get(|q: Query<Hosted>| async move { form(Kind::Account, &q.0, None) })
                .post(open_account),
        )
}

/// `return_to` if it is an absolute `http(s)` address without line breaks or quotes.
fn return_address(return_to: &str) -> Option<&str> {
    let ok = (return_to.starts_with("http://") || return_to.starts_with("https://"))
        && return_to.len() <= 2000
        && !return_to
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '"' || c == '<' || c == '>');
    ok.then_some(return_to)
}

/// `base` with `pairs` added to its query, values percent-encoded.
pub fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = base.to_owned();
    for (name, value) in pairs {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(name);
        url.push('=');
        url.push_str(&percent(value));
    }
    url
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// Text for HTML (element content and quoted attributes).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// 400 as a page: the merchant's link is broken, so there is nowhere to return to.
fn broken_link() -> Response {
    let page = page(
        "Gold Hat",
        "<p class=\"error\" role=\"alert\">This link cannot be used: it does not say where to \
         return to (an http:// or https:// address). Go back to the shop and try again.</p>",
    );
    (StatusCode::BAD_REQUEST, Html(page)).into_response()
}

/// The form of `kind`, with `error` next to the name field.
fn form(kind: Kind, asked: &Hosted, error: Option<&str>) -> Response {
    let Some(back) = return_address(&asked.return_to) else {
        return broken_link();
    };
    let cancel = with_query(back, &[("canceled", "true"), ("state", &asked.state)]);
    let (title, intro, label, extra, button) = match kind {
        Kind::Card => (
            "Add a card",
            "The shop will collect its invoices from this card. It never sees the card: it \
             gets a token that only this bank can use.",
            "Name on the card",
            "<label class=\"choice\"><input type=\"checkbox\" name=\"declines\" value=\"on\"> \
             Sandbox: this card declines every collection (an empty card)</label>",
            "Add the card",
        ),
        Kind::Account => (
            "Open an account",
            "The shop will pay you into this account. It gets the account's number only.",
            "Account holder",
            "",
            "Open the account",
        ),
    };
    let (invalid, why) = match error {
        Some(message) => (
            " aria-invalid=\"true\" aria-describedby=\"holder-error\"",
            format!(
                "<p class=\"field-error\" id=\"holder-error\">{}</p>",
                esc(message)
            ),
        ),
        None => ("", String::new()),
    };
    let body = format!(
        "<h1>{title}</h1><p>{intro}</p>\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"return_to\" value=\"{back}\">\
         <input type=\"hidden\" name=\"state\" value=\"{state}\">\
         <label for=\"holder\">{label}</label>\
         <input id=\"holder\" name=\"holder\" required maxlength=\"{MAX_TEXT}\" \
         value=\"{holder}\"{invalid}>{why}\
         {extra}\
         <button type=\"submit\">{button}</button> <a href=\"{cancel}\">Cancel</a>\
         </form>",
        action = kind.path(),
        back = esc(back),
        state = esc(&asked.state),
        holder = esc(&asked.holder),
        cancel = esc(&cancel),
    );
    let status = match error {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    (status, Html(page(title, &body))).into_response()
}

/// The holder's name if it is one: 1 to 200 characters on one line.
fn holder_name(holder: &str) -> Result<&str, &'static str> {
    let holder = holder.trim();
    if holder.is_empty() || holder.len() > MAX_TEXT || holder.chars().any(char::is_control) {
        return Err("Type the name: 1 to 200 characters on one line.");
    }
    Ok(holder)
}

/// 303 back to the merchant with `name=value` and the state.
fn returned(back: &str, name: &str, value: &str, state: &str) -> Response {
    let to = with_query(back, &[(name, value), ("state", state)]);
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

async fn add_card(State(bank): State<Sandbox>, Form(asked): Form<Hosted>) -> Response {
    let Some(back) = return_address(&asked.return_to) else {
        return broken_link();
    };
    match holder_name(&asked.holder) {
        Ok(holder) => {
            let declines = asked.declines.as_deref() == Some("on");
            let method = bank.register_payment_method(holder, declines);
            returned(back, "payment_method", &method.token, &asked.state)
        }
        Err(why) => form(Kind::Card, &asked, Some(why)),
    }
}

async fn open_account(State(bank): State<Sandbox>, Form(asked): Form<Hosted>) -> Response {
    let Some(back) = return_address(&asked.return_to) else {
        return broken_link();
    };
    match holder_name(&asked.holder) {
        Ok(holder) => {
            let account = bank.open_account(holder);
            returned(back, "payout_account", &account.number, &asked.state)
        }
        Err(why) => form(Kind::Account, &asked, Some(why)),
    }
}

/// A whole page in the bank's own look.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Gold Hat</title><style>\
         body{{font-family:Georgia,serif;background:#f6f1e3;color:#2b2112;margin:0}}\
         header{{background:#2b2112;color:#e8c15a;padding:.8rem 1.2rem;font-size:1.3rem}}\
         main{{max-width:28rem;margin:1.5rem auto;padding:0 1rem}}\
         label{{display:block;margin:.8rem 0 .3rem}}\
         input[name=holder]{{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}}\
         button{{margin-top:1rem;padding:.6rem 1.2rem;background:#e8c15a;border:1px solid #2b2112;\
         font-size:1rem;cursor:pointer}}\
         .field-error,.error{{color:#a01010}}:focus{{outline:3px solid #1a5fb4}}\
         </style></head><body><header>Gold Hat bank · sandbox</header>\
         <main>{body}</main></body></html>"
    )
}
