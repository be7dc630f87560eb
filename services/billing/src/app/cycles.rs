//! The weekly and monthly cycles: every period that has ended is invoiced exactly once.
//!
//! A period runs in one unit of work that first inserts its `cycle_runs` row: the replica
//! (or the restart) that inserts it issues the period's invoices, any other finds the row
//! and does nothing, so two replicas racing and a service down across several boundaries
//! (catch-up: every missed period in order, the oldest first) both end with each period run
//! once. Invoices cover the entries booked before the period's end that no invoice covers
//! yet, so an event heard late is invoiced in the next period rather than lost.

use chrono::{DateTime, Utc};
use contracts::billing::{InvoiceIssued, MailRequested};
use contracts::iam::MailRequest;
use contracts::{Envelope, Money};
use messaging::Work;
use serde_json::json;

use crate::App;
use crate::domain::{
    AccountKind, EntryKind, Invoice, InvoiceKind, InvoiceStatus, Period, PeriodKind, period_of,
};
use crate::error::BillingError;
use crate::store;

/// At most this many periods of one cycle are run per call (a long outage is caught up
/// over a few calls rather than in one long pass).
const CATCH_UP: usize = 60;

/// What a client's weekly invoice covers.
const CLIENT_ENTRIES: [EntryKind; 1] = [EntryKind::ClientCharge];
/// What a worker's monthly invoice covers: earnings - penalties + awards.
const WORKER_ENTRIES: [EntryKind; 3] = [
    EntryKind::WorkerEarning,
    EntryKind::WorkerPenalty,
    EntryKind::Award,
];

/// Runs every ended period of both cycles that has not run: the periods run now.
pub async fn run_cycles(app: &App) -> Result<Vec<Period>, BillingError> {
    let mut ran = run_cycle(app, PeriodKind::Week).await?;
    ran.extend(run_cycle(app, PeriodKind::Month).await?);
    Ok(ran)
}

/// Runs the ended periods of cycle `kind` after the last that ran (from the period of the
/// first booking it covers when none ran), oldest first.
async fn run_cycle(app: &App, kind: PeriodKind) -> Result<Vec<Period>, BillingError> {
    let now = app.ctx.clock.now();
    let first = {
        let mut conn = app.ctx.db.pool().acquire().await?;
        match store::last_run(&mut conn, kind).await? {
            Some(start) => period_of(kind, start, app.zone).and_then(|p| p.next(app.zone)),
            None => store::first_booking(&mut conn, covered(kind))
                .await?
                .and_then(|at| period_of(kind, at, app.zone)),
        }
    };
    let mut ran = Vec::new();
    let mut next = first;
    while let Some(period) = next.take() {
        if period.end > now || ran.len() >= CATCH_UP {
            break;
        }
        if run_period(app, &period, now).await? {
            ran.push(period.clone());
        }
        next = period.next(app.zone);
    }
    Ok(ran)
}

fn covered(kind: PeriodKind) -> &'static [EntryKind] {
    match kind {
        PeriodKind::Week => &CLIENT_ENTRIES,
        PeriodKind::Month => &WORKER_ENTRIES,
    }
}

/// Issues `period`'s invoices unless it ran before: whether it ran now.
async fn run_period(app: &App, period: &Period, now: DateTime<Utc>) -> Result<bool, BillingError> {
    let mut work = app.ctx.begin().await?;
    if !store::claim_run(&mut work, period, now).await? {
        return Ok(false);
    }
    let invoices = match period.kind {
        PeriodKind::Week => weekly(&mut work, period, now).await?,
        PeriodKind::Month => monthly(app, &mut work, period, now).await?,
    };
    for invoice in &invoices {
        store::insert_invoice(&mut work, invoice).await?;
        announce(app, &mut work, invoice).await?;
    }
    store::count_run(&mut work, period, invoices.len()).await?;
    work.commit().await?;
    tracing::info!(period = %period, invoices = invoices.len(), "billing cycle ran");
    Ok(true)
}

/// A client's invoice per client charged and not invoiced before the week's end.
async fn weekly(
    work: &mut Work,
    period: &Period,
    now: DateTime<Utc>,
) -> Result<Vec<Invoice>, BillingError> {
    let lines =
        store::uninvoiced(work, AccountKind::Client, &CLIENT_ENTRIES, period.end, 1).await?;
    let mut invoices = Vec::new();
    for (account, lines) in lines {
        if let Some(invoice) = Invoice::issue(period, account, lines, Money::zero(), now)
            .map_err(BillingError::ledger)?
        {
            invoices.push(invoice);
        }
    }
    Ok(invoices)
}

/// A worker's invoice per worker with entries not invoiced before the month's end or a
/// debt carried over from the month before.
async fn monthly(
    app: &App,
    work: &mut Work,
    period: &Period,
    now: DateTime<Utc>,
) -> Result<Vec<Invoice>, BillingError> {
    let mut lines =
        store::uninvoiced(work, AccountKind::Worker, &WORKER_ENTRIES, period.end, -1).await?;
    let before = period
        .start
        .checked_sub_signed(chrono::Duration::microseconds(1))
        .and_then(|at| period_of(PeriodKind::Month, at, app.zone));
    let carried = match before {
        Some(before) => store::carried_over(work, &before.key).await?,
        None => Default::default(),
    };
    for account in carried.keys() {
        lines.entry(*account).or_default();
    }
    let mut invoices = Vec::new();
    for (account, lines) in lines {
        let carried_in = carried.get(&account).copied().unwrap_or_default();
        if let Some(invoice) =
            Invoice::issue(period, account, lines, carried_in, now).map_err(BillingError::ledger)?
        {
            invoices.push(invoice);
        }
    }
    Ok(invoices)
}

/// Publishes `billing.invoice.issued` and mails the holder: a client its invoice, a worker
/// whose month was carried over or settled its notice (a paid one is mailed when paid).
async fn announce(app: &App, work: &mut Work, invoice: &Invoice) -> Result<(), BillingError> {
    let Some(holder) = invoice.account.holder() else {
        return Ok(());
    };
    let issued = InvoiceIssued {
        invoice_id: invoice.id.clone(),
        kind: invoice.kind.as_str().to_owned(),
        holder_id: holder,
        period: invoice.period.key.clone(),
        entry_ids: invoice
            .lines
            .iter()
            .map(|l| l.entry_id.to_string())
            .collect(),
        carried_in: invoice.carried_in,
        total: invoice.total,
        status: invoice.status.as_str().to_owned(),
        issued_at: invoice.issued_at,
    };
    work.publish(&Envelope::new(&issued, 1, None)).await?;
    let template = match (invoice.kind, invoice.status) {
        (InvoiceKind::Collection, InvoiceStatus::Issued) => "invoice_issued",
        (InvoiceKind::Payout, InvoiceStatus::CarriedOver | InvoiceStatus::Settled) => {
            "payment_notice"
        }
        _ => return Ok(()),
    };
    mail(app, work, invoice, template, &invoice.id).await
}

/// Asks Mail to send `template` about `invoice` to its holder, once per `key`. A holder
/// whose e-mail Billing was never told is not mailed (the invoice stands).
pub(super) async fn mail(
    app: &App,
    work: &mut Work,
    invoice: &Invoice,
    template: &str,
    key: &str,
) -> Result<(), BillingError> {
    let Some(holder) = store::account(work, invoice.account).await? else {
        return Ok(());
    };
    if holder.email.is_empty() {
        tracing::warn!(invoice = %invoice.id, "no e-mail known for the invoice's holder: not mailed");
        return Ok(());
    }
    let mut variables = serde_json::Map::new();
    variables.insert("name".into(), json!(holder.name));
    variables.insert("period".into(), json!(invoice.period.key));
    // Minor units and the status's wire word: Mail writes them in the holder's language.
    variables.insert("total".into(), json!(invoice.total.minor()));
    variables.insert("status".into(), json!(invoice.status.as_str()));
    variables.insert(
        "reason".into(),
        json!(invoice.last_error.clone().unwrap_or_default()),
    );
    // The holder's money page in the portal (invoices and statement), not Billing's API.
    variables.insert(
        "link".into(),
        json!(format!("{}/money", app.ctx.portal_url)),
    );
    let event = MailRequested {
        invoice_id: invoice.id.clone(),
        request: MailRequest {
            to: holder.email,
            template: template.to_owned(),
            variables,
            idempotency_key: format!("{template}:{key}"),
            language: None,
        },
    };
    work.publish(&Envelope::new(&event, 1, None)).await?;
    Ok(())
}
