//! A client's and a worker's money (Billing): what a client will owe this Sunday, the
//! invoices, and the statement of every charge, earning, penalty and award.

use askama::Template;
use auth::Role;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use billing::client::{BillingClient, Invoice};
use billing::{Statement, Upcoming};

use crate::Portal;
use crate::web::{Chrome, Current, PageResult, render, wire_name};

pub fn routes() -> Router<Portal> {
    Router::new().route("/money", get(money))
}

struct Line {
    when: String,
    what: String,
    amount: String,
}

struct InvoiceRow {
    period: String,
    kind: String,
    status: String,
    total: String,
}

#[derive(Template)]
#[template(path = "money.html")]
struct MoneyPage {
    c: Chrome,
    /// A client's current week.
    week: Option<(String, Vec<Line>, String, String)>,
    invoices: Vec<InvoiceRow>,
    /// (account name, balance, lines)
    statements: Vec<(String, String, Vec<Line>)>,
}

/// `GET /money`.
async fn money(State(portal): State<Portal>, current: Current) -> PageResult {
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
            status: wire_name(&i.status),
            total: c.money(i.total),
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
    render(&MoneyPage {
        c,
        week,
        invoices,
        statements,
    })
}
