//! A client's and a worker's money (Billing): what a client will owe this Sunday, the
//! invoices (a failed one with its reason and what to do), the statement of every charge,
//! earning, penalty and award, and the bank details Billing collects from or pays to.
//!
//! Bank details come from the bank's own pages, like a hosted checkout: the page links to
//! the bank's "add a card" (clients) or "open an account" (workers) with a `state` made from
//! the session; the bank sends the browser back to `/money/bank` with the token or number and
//! that state, and the portal gives it to Billing (`PUT /me/bank`). A link made for another
//! session carries another state and changes nothing. Someone holding a token already types
//! it into the form instead.

use askama::Template;
use auth::Role;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use billing::client::{BankDetailsView, BillingClient, Invoice};
use billing::domain::InvoiceStatus;
use billing::{Statement, Upcoming};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::Portal;
use crate::form::Fields;
use crate::i18n::Speak;
use crate::session::User;
use crate::web::{
    Chrome, Current, FormState, PageError, PageResult, Refusal, refusal, render_with, see_other,
    wire_name,
};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/money", get(money))
        .route("/money/bank", get(bank_returned).post(bank_typed))
}

/// The `state` the bank's pages carry back for this session: derived from its CSRF token
/// (one way, so the token itself never leaves the portal), so only a link made for this
/// session is taken.
pub fn bank_state(current: &Current) -> String {
    hex::encode(Sha256::digest(format!(
        "mcf-portal-bank:{}",
        current.session.csrf
    )))
}

/// Which of a person's bank details: the card Billing collects from, the account it pays
/// to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BankField {
    PaymentMethod,
    PayoutAccount,
}

impl BankField {
    /// The field's (and Billing's) name.
    pub fn name(self) -> &'static str {
        match self {
            BankField::PaymentMethod => "payment_method",
            BankField::PayoutAccount => "payout_account",
        }
    }

    /// The bank's page for it.
    fn bank_page(self) -> &'static str {
        match self {
            BankField::PaymentMethod => "/hosted/card",
            BankField::PayoutAccount => "/hosted/account",
        }
    }

    /// The fields a person with `roles` gives: clients a card, workers an account.
    fn of(user: &User) -> Vec<BankField> {
        let mut fields = Vec::new();
        if user.roles.contains(&Role::Client) {
            fields.push(BankField::PaymentMethod);
        }
        if user.roles.contains(&Role::Worker) {
            fields.push(BankField::PayoutAccount);
        }
        fields
    }
}

/// One of the bank details as the page shows it.
pub struct BankRow {
    pub field: &'static str,
    /// What Billing holds; empty for nothing yet.
    pub value: String,
    /// The bank's page to get one, empty when no bank URL is configured.
    pub link: String,
}

/// The bank's page for `field`, returning to this portal's `/money/bank`.
fn bank_link(portal: &Portal, current: &Current, user: &User, field: BankField) -> String {
    let bank = portal.settings().bank_url.trim_end_matches('/');
    if bank.is_empty() {
        return String::new();
    }
    let back = format!(
        "{}/money/bank",
        portal.settings().public_url.trim_end_matches('/')
    );
    format!(
        "{bank}{}?holder={}&return_to={}&state={}",
        field.bank_page(),
        urlencode_all(&user.name),
        urlencode_all(&back),
        bank_state(current)
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters (a value in a query).
fn urlencode_all(s: &str) -> String {
    crate::web::urlencode(s).replace('/', "%2F")
}

/// The invoice's status, and for one that failed why and what to do.
fn what_to_do(invoice: &Invoice, c: &Chrome) -> String {
    if invoice.status != InvoiceStatus::Failed {
        return String::new();
    }
    let reason = invoice.last_error.clone().unwrap_or_default();
    let fix = match invoice.kind {
        billing::domain::InvoiceKind::Collection => c.t("money.failed_collection"),
        _ => c.t("money.failed_payout"),
    };
    let next = match invoice.next_attempt_at {
        Some(at) => format!(" {} {}.", c.t("money.next_attempt"), c.when(at)),
        None => String::new(),
    };
    format!("{reason}. {fix}{next}")
}

struct Line {
    when: String,
    what: String,
    amount: String,
}

struct InvoiceRow {
    period: String,
    kind: String,
    /// Its wire name (`paid`, `failed`): the badge's class.
    status: &'static str,
    status_label: String,
    total: String,
    /// A failed one's reason and what to do; empty otherwise.
    todo: String,
}

#[derive(Template)]
#[template(path = "money.html")]
pub struct MoneyPage {
    pub c: Chrome,
    /// A client's current week.
    week: Option<(String, Vec<Line>, String, String)>,
    invoices: Vec<InvoiceRow>,
    /// (account name, balance, lines)
    statements: Vec<(String, String, Vec<Line>)>,
    pub bank: Vec<BankRow>,
    pub form: FormState,
    /// `?bank=saved`: the bank details were just saved.
    pub saved: bool,
}

/// `?bank=saved` after the details were given.
#[derive(Debug, Default, Deserialize)]
struct MoneyQuery {
    bank: Option<String>,
}

/// `GET /money`.
async fn money(
    State(portal): State<Portal>,
    current: Current,
    Query(q): Query<MoneyQuery>,
) -> PageResult {
    let saved = q.bank.as_deref() == Some("saved");
    money_page(
        &portal,
        &current,
        FormState::default(),
        saved,
        StatusCode::OK,
    )
    .await
}

async fn money_page(
    portal: &Portal,
    current: &Current,
    form: FormState,
    saved: bool,
    status: StatusCode,
) -> PageResult {
    let user = current.require(&[Role::Client, Role::Worker])?;
    let api = BillingClient(portal.api("billing", user)?);
    let c = current.chrome("menu.money");
    let week = match user.roles.contains(&Role::Client) {
        true => {
            let Upcoming {
                week,
                charges,
                week_total,
                outstanding,
            } = api.upcoming().await?;
            let lines = charges
                .iter()
                .map(|l| Line {
                    when: c.when(l.booked_at),
                    what: l.reason.clone(),
                    amount: c.money(l.amount),
                })
                .collect();
            let until = c.when(week.end);
            Some((until, lines, c.money(week_total), c.money(outstanding)))
        }
        false => None,
    };
    let invoices = api
        .my_invoices()
        .await?
        .iter()
        .map(|i: &Invoice| InvoiceRow {
            period: i.period.key.clone(),
            kind: wire_name(&i.kind),
            status: i.status.as_str(),
            status_label: c.t(format!("invoice.{}", i.status.as_str())).to_owned(),
            total: c.money(i.total),
            todo: what_to_do(i, &c),
        })
        .collect();
    let statements = api
        .my_statements()
        .await?
        .iter()
        .map(|s: &Statement| {
            let lines = s
                .lines
                .iter()
                .map(|l| Line {
                    when: c.when(l.booked_at),
                    what: format!("{} · {}", wire_name(&l.kind), l.reason),
                    amount: c.money(l.amount),
                })
                .collect();
            (wire_name(&s.kind), c.money(s.balance), lines)
        })
        .collect();
    let held = api.my_bank().await?;
    let bank = BankField::of(user)
        .into_iter()
        .map(|field| BankRow {
            field: field.name(),
            value: held_value(&held, field).unwrap_or_default(),
            link: bank_link(portal, current, user, field),
        })
        .collect();
    render_with(
        status,
        &MoneyPage {
            c,
            week,
            invoices,
            statements,
            bank,
            form,
            saved,
        },
    )
}

fn held_value(held: &BankDetailsView, field: BankField) -> Option<String> {
    match field {
        BankField::PaymentMethod => held.payment_method.clone(),
        BankField::PayoutAccount => held.payout_account.clone(),
    }
}

/// What the bank sends the browser back with.
#[derive(Debug, Default, Deserialize)]
struct Returned {
    payment_method: Option<String>,
    payout_account: Option<String>,
    state: Option<String>,
    canceled: Option<String>,
}

/// Gives Billing `value` as the person's `field`, keeping the other detail as it is: the
/// refusal of the value, if Billing refused it.
async fn give(
    api: &BillingClient,
    field: BankField,
    value: &str,
) -> Result<Result<(), Refusal>, PageError> {
    let mut details = api.my_bank().await?;
    match field {
        BankField::PaymentMethod => details.payment_method = Some(value.to_owned()),
        BankField::PayoutAccount => details.payout_account = Some(value.to_owned()),
    }
    Ok(refusal(api.set_my_bank(&details).await)?.map(|_| ()))
}

/// `GET /money/bank?payment_method=|payout_account=&state=`: back from the bank's page.
async fn bank_returned(
    State(portal): State<Portal>,
    current: Current,
    Query(back): Query<Returned>,
) -> PageResult {
    let user = current.require(&[Role::Client, Role::Worker])?;
    if back.canceled.is_some() {
        return Ok(see_other("/money"));
    }
    let mine = back
        .state
        .as_deref()
        .is_some_and(|s| crate::session::same(s, &bank_state(&current)));
    if !mine {
        // Not this session's link (forged, or from before signing in again).
        return Err(PageError::Csrf);
    }
    let fields = BankField::of(user);
    let given = [
        (BankField::PaymentMethod, back.payment_method),
        (BankField::PayoutAccount, back.payout_account),
    ]
    .into_iter()
    .find_map(|(field, value)| value.map(|v| (field, v)))
    .filter(|(field, _)| fields.contains(field));
    let Some((field, value)) = given else {
        return Err(PageError::Bad("the bank sent nothing to keep".into()));
    };
    let api = BillingClient(portal.api("billing", user)?);
    match give(&api, field, &value).await? {
        Ok(()) => Ok(see_other("/money?bank=saved")),
        Err(refused) => {
            let values = [(field.name().to_owned(), value)].into();
            let form = FormState::refused(values, &refused);
            money_page(
                &portal,
                &current,
                form,
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// `POST /money/bank`: a token or number typed in (someone who has one from the bank).
async fn bank_typed(State(portal): State<Portal>, current: Current, form: Fields) -> PageResult {
    let user = current.require(&[Role::Client, Role::Worker])?;
    let field = BankField::of(user)
        .into_iter()
        .find(|f| !form.get(f.name()).is_empty());
    let result = match field {
        Some(field) => {
            let api = BillingClient(portal.api("billing", user)?);
            give(&api, field, form.get(field.name())).await?
        }
        None => {
            let first = BankField::of(user).first().copied();
            let name = first.map(BankField::name).unwrap_or("payment_method");
            Err(Refusal::of(name, current.lang.t("error.required")))
        }
    };
    match result {
        Ok(()) => Ok(see_other("/money?bank=saved")),
        Err(refused) => {
            let state = FormState::refused(form.values(), &refused);
            money_page(
                &portal,
                &current,
                state,
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use crate::session::Session;

    fn current(lang: Lang) -> Current {
        Current {
            session: Session::new(),
            lang,
            path: "/money".into(),
        }
    }

    /// A client's weekly invoice the bank declined, tried again later.
    fn declined() -> Invoice {
        serde_json::from_value(serde_json::json!({
            "id": "2026-W48:client:0190c0de-0000-7000-8000-000000000001",
            "kind": "collection",
            "account": "client:0190c0de-0000-7000-8000-000000000001",
            "period": {"kind": "week", "key": "2026-W48",
                       "start": "2026-11-23T00:00:00Z", "end": "2026-11-30T00:00:00Z"},
            "lines": [],
            "carried_in": 0,
            "total": 12000,
            "status": "failed",
            "attempts": 1,
            "next_attempt_at": "2026-11-30T00:10:00Z",
            "in_doubt": false,
            "last_error": "declined: the payment method declined the collection",
            "bank_operation": null,
            "issued_at": "2026-11-30T00:00:01Z",
            "settled_at": null
        }))
        .expect("an invoice")
    }

    #[test]
    fn a_failed_collection_says_why_what_to_do_and_when_it_is_tried_again() {
        let c = current(Lang::En).chrome("menu.money");
        let todo = what_to_do(&declined(), &c);
        assert!(
            todo.starts_with("declined: the payment method declined"),
            "{todo}"
        );
        assert!(todo.contains("Add another card above"), "{todo}");
        assert!(todo.contains("30 Nov 2026, 00:10 UTC"), "{todo}");
        // And a paid one needs nothing done
        let mut paid = declined();
        paid.status = InvoiceStatus::Paid;
        assert_eq!(what_to_do(&paid, &c), "");
        // And in Russian
        let ru = what_to_do(&declined(), &current(Lang::Ru).chrome("menu.money"));
        assert!(ru.contains("Добавьте другую карту"), "{ru}");
    }

    #[test]
    fn every_text_named_at_run_time_is_in_the_catalogue() {
        // The template names these keys from a field or a status, so the catalogue test that
        // reads literal keys cannot see them.
        let mut keys = Vec::new();
        for field in [BankField::PaymentMethod, BankField::PayoutAccount] {
            for prefix in ["money.", "money.no_", "money.get_"] {
                keys.push(format!("{prefix}{}", field.name()));
            }
        }
        for status in ["issued", "paid", "failed", "carried_over", "settled"] {
            keys.push(format!("invoice.{status}"));
        }
        for key in keys {
            assert_ne!(Lang::En.t(&key), "?", "{key}");
            assert_ne!(Lang::Ru.t(&key), "?", "{key}");
        }
    }

    #[test]
    fn the_bank_pages_state_belongs_to_one_session() {
        let (a, b) = (current(Lang::En), current(Lang::En));
        assert_eq!(bank_state(&a), bank_state(&a.clone()));
        assert_ne!(bank_state(&a), bank_state(&b));
        // The CSRF token itself never leaves the portal
        assert!(!bank_state(&a).contains(&a.session.csrf));
    }

    #[test]
    fn a_client_without_a_card_is_told_so_and_offered_the_banks_page_and_the_form() {
        // Given a client with no card, a declined invoice, and a refusal of a typed token
        let me = current(Lang::En);
        let c = me.chrome("menu.money");
        let invoice = declined();
        let refusal = Refusal::of("payment_method", "1 to 64 letters, digits, '_' or '-'");
        let typed = [("payment_method".to_owned(), "pm <x>".to_owned())].into();
        let page = MoneyPage {
            invoices: vec![InvoiceRow {
                period: invoice.period.key.clone(),
                kind: wire_name(&invoice.kind),
                status: invoice.status.as_str(),
                status_label: c.t("invoice.failed").to_owned(),
                total: c.money(invoice.total),
                todo: what_to_do(&invoice, &c),
            }],
            c,
            week: None,
            statements: Vec::new(),
            bank: vec![BankRow {
                field: "payment_method",
                value: String::new(),
                link: "http://bank.test/hosted/card?holder=Tom&state=s".into(),
            }],
            form: FormState::refused(typed, &refusal),
            saved: false,
        };
        // When it is drawn
        let html = askama::Template::render(&page).unwrap();
        // Then it says there is no card, links the bank's page outside htmx, shows the
        // invoice failed with why, and the refusal next to the field with what was typed
        assert!(html.contains("No card yet"), "{html}");
        assert!(
            html.contains(
                "href=\"http://bank.test/hosted/card?holder=Tom&#38;state=s\" hx-boost=\"false\""
            ) || html.contains(
                "href=\"http://bank.test/hosted/card?holder=Tom&amp;state=s\" hx-boost=\"false\""
            ),
            "{html}"
        );
        assert!(html.contains("badge failed"));
        assert!(html.contains("Add another card above"));
        assert!(html.contains("id=\"payment_method-error\""));
        assert!(html.contains("aria-describedby=\"payment_method-error\""));
        assert!(html.contains("pm &#60;x&#62;") || html.contains("pm &lt;x&gt;"));
        let forms = html.matches("method=\"post\"").count();
        let tokens = html
            .matches(&format!("name=\"csrf\" value=\"{}\"", me.session.csrf))
            .count();
        assert_eq!(forms, tokens, "every form carries the CSRF token");
    }
}
