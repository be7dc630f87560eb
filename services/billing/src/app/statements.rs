//! Statements: what was charged or credited to an account, for its holder, managers and
//! admins; what a client will owe at the end of the week; a period's summary.

use chrono::{DateTime, Utc};
use contracts::{AccountId, Money};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use service::Refused;

use crate::App;
use crate::domain::{
    AccountKind, Cause, EntryId, EntryKind, LedgerAccount, Period, PeriodKind, period_of,
};
use crate::error::BillingError;
use crate::store::{self, AccountRow, StatementRow};

/// Who is asking: their account id and whether they see every account (managers and
/// admins) or only their own.
#[derive(Debug, Clone, Copy)]
pub struct Reader {
    pub id: AccountId,
    pub sees_all: bool,
}

/// One line of a statement: an entry and what it moved on this account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StatementLine {
    pub entry_id: EntryId,
    pub kind: EntryKind,
    pub reason: String,
    /// `billing`, or the account id of the person who moved the money.
    pub actor: String,
    pub cause: Cause,
    pub booked_at: DateTime<Utc>,
    /// What the entry posted to this account: positive, the holder owes MCF more (a
    /// charge, a stake, a penalty); negative, MCF owes the holder more (an earning, an
    /// award, a winning) or a payment settled the debt.
    pub amount: Money,
}

impl From<StatementRow> for StatementLine {
    fn from(row: StatementRow) -> Self {
        StatementLine {
            entry_id: row.head.id,
            kind: row.head.kind,
            reason: row.head.reason,
            actor: row.head.actor.to_string(),
            cause: row.head.cause,
            booked_at: row.head.booked_at,
            amount: row.amount,
        }
    }
}

/// An account's statement. (Invoices and their statuses are the cycles':
/// `GET /me/invoices`.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Statement {
    pub account: LedgerAccount,
    pub kind: AccountKind,
    /// The holder's name as IAM or Hiring told it (empty until then).
    pub name: String,
    /// The sum of every line: positive, the holder owes MCF; negative, MCF owes the holder.
    pub balance: Money,
    /// Oldest first.
    pub lines: Vec<StatementLine>,
}

async fn statement_of(
    conn: &mut storage::AnyConnection,
    row: AccountRow,
) -> Result<Statement, BillingError> {
    let lines: Vec<StatementLine> = store::statement(conn, row.account, None, None)
        .await?
        .into_iter()
        .map(StatementLine::from)
        .collect();
    let balance = sum(lines.iter().map(|l| l.amount))?;
    Ok(Statement {
        account: row.account,
        kind: row.kind,
        name: row.name,
        balance,
        lines,
    })
}

fn sum(amounts: impl IntoIterator<Item = Money>) -> Result<Money, BillingError> {
    amounts
        .into_iter()
        .try_fold(Money::zero(), Money::checked_add)
        .ok_or_else(|| BillingError::ledger("a sum beyond 64 bits"))
}

/// The statements of every account `reader` holds (a client who is also a manager holds
/// two), by kind.
pub async fn my_statements(app: &App, reader: AccountId) -> Result<Vec<Statement>, BillingError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let mut statements = Vec::new();
    for row in store::accounts_of_holder(&mut conn, reader).await? {
        statements.push(statement_of(&mut conn, row).await?);
    }
    Ok(statements)
}

/// The statement of `account`: its holder's, or anyone's for managers and admins; to
/// anyone else it does not exist (404, as an account never opened).
pub async fn statement(
    app: &App,
    reader: Reader,
    account: LedgerAccount,
) -> Result<Statement, BillingError> {
    if !reader.sees_all && account.holder() != Some(reader.id) {
        return Err(Refused::NotFound("account").into());
    }
    let mut conn = app.ctx.db.pool().acquire().await?;
    let row = store::account(&mut conn, account)
        .await?
        .ok_or(Refused::NotFound("account"))?;
    statement_of(&mut conn, row).await
}

/// What a client will owe at the end of the current week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Upcoming {
    /// The current week (ends Sunday at midnight in the billing zone).
    pub week: Period,
    /// This week's charges so far, oldest first.
    pub charges: Vec<StatementLine>,
    /// Their sum: the week's invoice if nothing more is charged.
    pub week_total: Money,
    /// Everything owed now (the account's balance: earlier invoices not yet collected
    /// included).
    pub outstanding: Money,
}

/// What `client` will owe at the end of the current week.
pub async fn upcoming(app: &App, client: AccountId) -> Result<Upcoming, BillingError> {
    let week = period_of(PeriodKind::Week, app.ctx.clock.now(), app.zone)
        .ok_or_else(|| BillingError::ledger("the current week is outside the calendar"))?;
    let account = LedgerAccount::Client(client);
    let mut conn = app.ctx.db.pool().acquire().await?;
    let charges: Vec<StatementLine> =
        store::statement(&mut conn, account, Some(week.start), Some(week.end))
            .await?
            .into_iter()
            .filter(|r| r.head.kind == EntryKind::ClientCharge)
            .map(StatementLine::from)
            .collect();
    Ok(Upcoming {
        week_total: sum(charges.iter().map(|c| c.amount))?,
        outstanding: store::balance(&mut conn, account).await?,
        week,
        charges,
    })
}

/// A period's money, for managers and admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub period: Period,
    /// Clients' charges.
    pub revenue: Money,
    /// Workers' shares of completed orders.
    pub worker_earnings: Money,
    /// Workers' penalties.
    pub penalties: Money,
    /// Managers' awards to workers.
    pub awards: Money,
    /// What MCF keeps: revenue - earnings - awards + penalties.
    pub margin: Money,
}

/// The summary of the period of `kind` that `at` falls in.
pub async fn summary(
    app: &App,
    kind: PeriodKind,
    at: DateTime<Utc>,
) -> Result<Summary, BillingError> {
    let period =
        period_of(kind, at, app.zone).ok_or(Refused::invalid("at", "outside the calendar"))?;
    let mut conn = app.ctx.db.pool().acquire().await?;
    let (from, to) = (period.start, period.end);
    // Company accounts' sums, turned so each figure is positive in the usual case:
    // revenue and penalties are credited (negative), earnings and awards debited.
    let revenue = negate(store::kind_total(&mut conn, AccountKind::Revenue, from, to).await?)?;
    let penalties = negate(store::kind_total(&mut conn, AccountKind::Penalties, from, to).await?)?;
    let worker_earnings =
        store::kind_total(&mut conn, AccountKind::WorkerEarnings, from, to).await?;
    let awards = store::kind_total(&mut conn, AccountKind::Awards, from, to).await?;
    let margin = revenue
        .checked_sub(worker_earnings)
        .and_then(|m| m.checked_sub(awards))
        .and_then(|m| m.checked_add(penalties))
        .ok_or_else(|| BillingError::ledger("the margin overflows"))?;
    Ok(Summary {
        period,
        revenue,
        worker_earnings,
        penalties,
        awards,
        margin,
    })
}

fn negate(m: Money) -> Result<Money, BillingError> {
    Money::zero()
        .checked_sub(m)
        .ok_or_else(|| BillingError::ledger("an amount beyond 64 bits"))
}
