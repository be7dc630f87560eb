//! A manager's view of Billing's books: awards to workers (give one, keyed; every award so
//! far), anyone's statement (every account of the trial balance, then one account's lines)
//! and the summary of a week or a month. Billing decides who may do what; these pages show
//! its answers and its refusals next to their fields.

use askama::Template;
use auth::Role;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use billing::client::{BillingClient, NewAward, Summary, TrialBalance};
use billing::domain::{EntryKind, LedgerAccount, PeriodKind};
use chrono::{DateTime, NaiveDate, Utc};
use contracts::Money;
use serde::{Deserialize, Serialize};

use crate::Portal;
use crate::form::Fields;
use crate::i18n::Speak;
use crate::pages::manager::parse_money;
use crate::web::{
    Chrome, Current, FormState, PageError, PageResult, Refusal, render, render_with, see_other,
    submit, urlencode, wire_name,
};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/awards", get(awards).post(award))
        .route("/statements", get(accounts))
        .route("/statements/{account}", get(statement))
        .route("/summary", get(summary))
}

const STAFF: &[Role] = &[Role::Manager, Role::Admin];

/// One award as the list shows it.
pub struct AwardRow {
    pub when: String,
    pub worker: String,
    pub amount: String,
    pub reason: String,
    pub by: String,
}

#[derive(Template)]
#[template(path = "awards.html")]
pub struct AwardsPage {
    pub c: Chrome,
    /// (worker id, name) of every worker Billing knows.
    pub workers: Vec<(String, String)>,
    pub rows: Vec<AwardRow>,
    pub form: FormState,
}

/// A person's name in the trial balance, else their account id.
fn name_of(balances: &TrialBalance, holder: &str) -> String {
    balances
        .accounts
        .iter()
        .find(|a| a.account.holder().is_some_and(|h| h.to_string() == holder))
        .map(|a| a.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| holder.to_owned())
}

async fn awards_page(
    portal: &Portal,
    current: &Current,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(STAFF)?;
    let api = BillingClient(portal.api("billing", user)?);
    let balances = api.trial_balance().await?;
    let c = current.chrome("menu.awards");
    let mut workers = Vec::new();
    let mut rows = Vec::new();
    // Each award is on its worker's statement (the awards account's lines do not name the
    // worker): one call per worker account, which a company's tens of workers afford.
    for line in &balances.accounts {
        let LedgerAccount::Worker(worker) = line.account else {
            continue;
        };
        let name = match line.name.as_str() {
            "" => worker.to_string(),
            name => name.to_owned(),
        };
        workers.push((worker.to_string(), name.clone()));
        let statement = api.statement(line.account).await?;
        for l in statement
            .lines
            .iter()
            .filter(|l| l.kind == EntryKind::Award)
        {
            rows.push((
                l.booked_at,
                AwardRow {
                    when: c.when(l.booked_at),
                    worker: name.clone(),
                    // The worker's side is a credit: the award is its opposite.
                    amount: c.money(Money::zero().checked_sub(l.amount).unwrap_or(l.amount)),
                    reason: l
                        .reason
                        .strip_prefix("award: ")
                        .unwrap_or(&l.reason)
                        .to_owned(),
                    by: name_of(&balances, &l.actor),
                },
            ));
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    let page = AwardsPage {
        c,
        workers,
        rows: rows.into_iter().map(|(_, r)| r).collect(),
        form: form.keyed(),
    };
    render_with(status, &page)
}

/// `GET /awards`: every award, newest first, and the form to give one.
async fn awards(State(portal): State<Portal>, current: Current) -> PageResult {
    awards_page(&portal, &current, FormState::default(), StatusCode::OK).await
}

/// `POST /awards`: an award, once per form shown (the form's key is Billing's
/// `Idempotency-Key`).
async fn award(State(portal): State<Portal>, current: Current, form: Fields) -> PageResult {
    let user = current.require(STAFF)?;
    let lang = current.lang;
    let asked = (|| {
        let worker_id = form
            .get("worker_id")
            .parse()
            .map_err(|_| Refusal::of("worker_id", lang.t("error.choose")))?;
        let amount = parse_money(form.get("amount"))
            .ok_or_else(|| Refusal::of("amount", lang.t("error.money")))?;
        Ok(NewAward {
            worker_id,
            amount,
            reason: form.get("reason").to_owned(),
        })
    })();
    // A form always carries its key; a request without one gets a fresh one (Billing wants
    // one).
    let key = form
        .key()
        .map(str::to_owned)
        .unwrap_or_else(crate::session::random_token);
    let api = BillingClient(portal.api("billing", user)?);
    match submit(asked, |new| async move { api.award(&new, &key).await }).await? {
        Ok(_) => Ok(see_other("/awards")),
        Err(refused) => {
            let state = FormState::again(&form, &refused);
            awards_page(&portal, &current, state, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// One account of the trial balance.
pub struct AccountRow {
    pub href: String,
    pub name: String,
    pub kind: String,
    pub balance: String,
}

#[derive(Template)]
#[template(path = "statements.html")]
pub struct AccountsPage {
    pub c: Chrome,
    pub rows: Vec<AccountRow>,
    pub total: String,
}

/// `GET /statements`: every account (people's and the company's) with its balance.
async fn accounts(State(portal): State<Portal>, current: Current) -> PageResult {
    let user = current.require(STAFF)?;
    let balances = BillingClient(portal.api("billing", user)?)
        .trial_balance()
        .await?;
    let c = current.chrome("menu.statements");
    let rows = balances
        .accounts
        .iter()
        .map(|a| AccountRow {
            href: format!("/statements/{}", urlencode(&a.account.to_string())),
            name: match a.name.as_str() {
                "" => a.account.to_string(),
                name => name.to_owned(),
            },
            kind: wire_name(&a.kind),
            balance: c.money(a.balance),
        })
        .collect();
    let total = c.money(balances.total);
    render(&AccountsPage { c, rows, total })
}

/// One line of a statement.
pub struct StatementRow {
    pub when: String,
    pub kind: String,
    pub reason: String,
    pub amount: String,
}

#[derive(Template)]
#[template(path = "statement.html")]
pub struct StatementPage {
    pub c: Chrome,
    pub name: String,
    pub account: String,
    pub balance: String,
    pub rows: Vec<StatementRow>,
}

/// `GET /statements/{account}`: one account's lines, oldest first, and its balance.
async fn statement(
    State(portal): State<Portal>,
    current: Current,
    Path(account): Path<String>,
) -> PageResult {
    let user = current.require(STAFF)?;
    let account: LedgerAccount = account.parse().map_err(|_| PageError::NotFound)?;
    let statement = BillingClient(portal.api("billing", user)?)
        .statement(account)
        .await?;
    let c = current.chrome("menu.statements");
    let rows = statement
        .lines
        .iter()
        .map(|l| StatementRow {
            when: c.when(l.booked_at),
            kind: wire_name(&l.kind),
            reason: l.reason.clone(),
            amount: c.money(l.amount),
        })
        .collect();
    let page = StatementPage {
        name: statement.name.clone(),
        account: statement.account.to_string(),
        balance: c.money(statement.balance),
        rows,
        c,
    };
    render(&page)
}

/// `?period=week|month&at=YYYY-MM-DD` as typed.
#[derive(Debug, Default, Deserialize)]
struct SummaryAsked {
    period: Option<String>,
    at: Option<String>,
}

/// Billing's `GET /summary` query.
#[derive(Debug, Serialize)]
struct SummaryQuery {
    period: PeriodKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<DateTime<Utc>>,
}

#[derive(Template)]
#[template(path = "summary.html")]
pub struct SummaryPage {
    pub c: Chrome,
    /// The week or month asked for (`week`, `month`).
    pub period: &'static str,
    /// The figures, once Billing answered.
    pub summary: Option<Summary>,
    pub form: FormState,
}

/// The summary's query from what was typed: a week or month (month by default) and a day in
/// it (today by default), or the refusal naming the field.
fn summary_query(asked: &SummaryAsked, c: &Chrome) -> Result<SummaryQuery, Refusal> {
    let period = match asked.period.as_deref().unwrap_or("month") {
        "week" => PeriodKind::Week,
        "month" => PeriodKind::Month,
        _ => return Err(Refusal::of("period", c.t("error.choose"))),
    };
    let at = match asked.at.as_deref().map(str::trim).unwrap_or_default() {
        "" => None,
        day => Some(
            NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(12, 0, 0))
                .map(|at| at.and_utc())
                .ok_or_else(|| Refusal::of("at", c.t("error.date")))?,
        ),
    };
    Ok(SummaryQuery { period, at })
}

/// `GET /summary?period=&at=`: revenue, earnings, penalties, awards and margin of the week or
/// month a day falls in.
async fn summary(
    State(portal): State<Portal>,
    current: Current,
    Query(asked): Query<SummaryAsked>,
) -> PageResult {
    let user = current.require(STAFF)?;
    let c = current.chrome("menu.summary");
    let mut form = FormState::default();
    for (name, value) in [("period", &asked.period), ("at", &asked.at)] {
        if let Some(value) = value {
            form.values.insert(name.into(), value.clone());
        }
    }
    let api = BillingClient(portal.api("billing", user)?);
    let query = summary_query(&asked, &c);
    let period = match &query {
        Ok(SummaryQuery {
            period: PeriodKind::Week,
            ..
        }) => "week",
        _ => "month",
    };
    let answer = submit(query, |q| async move {
        api.0.get_query::<_, Summary>("/summary", &q).await
    })
    .await?;
    let (summary, status) = match answer {
        Ok(summary) => (Some(summary), StatusCode::OK),
        Err(refused) => {
            form = FormState::refused(form.values, &refused);
            (None, StatusCode::UNPROCESSABLE_ENTITY)
        }
    };
    render_with(
        status,
        &SummaryPage {
            c,
            period,
            summary,
            form,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn chrome() -> Chrome {
        Current {
            session: crate::session::Session::new(),
            lang: Lang::En,
            path: "/summary".into(),
        }
        .chrome("menu.summary")
    }

    #[test]
    fn a_summary_is_a_week_or_a_month_around_a_day_typed() {
        let c = chrome();
        let asked = |period: &str, at: &str| SummaryAsked {
            period: Some(period.into()),
            at: Some(at.into()),
        };
        // A week around a day: noon of that day, so the day's week whatever the zone's offset
        let q = summary_query(&asked("week", "2026-11-25"), &c).unwrap();
        assert_eq!(q.period, PeriodKind::Week);
        assert_eq!(q.at.unwrap().to_rfc3339(), "2026-11-25T12:00:00+00:00");
        // Nothing typed: this month, now
        let q = summary_query(&SummaryAsked::default(), &c).unwrap();
        assert_eq!((q.period, q.at), (PeriodKind::Month, None));
        // A period or a day that is none: refused, naming the field
        let refused = summary_query(&asked("year", ""), &c).err().unwrap();
        assert_eq!(refused.field.as_deref(), Some("period"));
        let refused = summary_query(&asked("week", "25.11.2026"), &c)
            .err()
            .unwrap();
        assert_eq!(refused.field.as_deref(), Some("at"));
    }
}
