//! Collecting and paying out invoices at the bank, as Inventory orders its cookies: the
//! intent is recorded (the invoice, due), the bank is called outside any unit of work, the
//! answer is recorded after in one. A crash between the call and the record leaves the
//! invoice due: the next attempt calls again under the same key (the invoice's ledger
//! entry), and the bank answers the operation it executed the first time.
//!
//! An attempt whose answer was lost (no answer after every retry) leaves the invoice in
//! doubt; the next attempt first reads the bank's statement for its key and books what the
//! bank executed, and only when the bank executed nothing asks again (still under the same
//! key): money is never moved twice for an invoice.

use chrono::{DateTime, Utc};
use contracts::Envelope;
use contracts::billing::{InvoiceFailed, InvoicePaid, PayoutSent};
use messaging::Work;

use super::{Posted, post};
use crate::App;
use crate::bank::CallError;
use crate::domain::{Invoice, InvoiceKind, LedgerAccount, Outcome};
use crate::error::BillingError;
use crate::store::{self, BankDetails};

/// Invoices taken per pass.
const BATCH: i64 = 20;

/// Asks the bank for every open invoice whose attempt is due: the number attempted. Stops
/// early while the bank's breaker is open (the invoices stay due).
pub async fn settle_due(app: &App) -> Result<usize, BillingError> {
    let now = app.ctx.clock.now();
    let due = {
        let mut conn = app.ctx.db.pool().acquire().await?;
        store::due(&mut conn, now, BATCH).await?
    };
    let mut done = 0;
    for id in due {
        let Some((invoice, details)) = leased(app, &id, now).await? else {
            continue;
        };
        let outcome = match attempt(app, &invoice, details).await {
            Ok(outcome) => outcome,
            Err(CallError::CircuitOpen) => {
                // Nothing was asked: due again as soon as the lease ends.
                break;
            }
            Err(e) => Outcome::Lost(e.to_string()),
        };
        record(app, &invoice, &outcome).await?;
        done += 1;
    }
    Ok(done)
}

/// Invoice `id` taken for one attempt, with what its holder gave for the bank: its next
/// attempt moved a lease ahead so another replica does not ask the bank at the same time
/// (the key would keep it harmless, but the attempt would be counted and mailed twice).
/// `None` when another replica took it.
async fn leased(
    app: &App,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<(Invoice, BankDetails)>, BillingError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let Some(invoice) = store::invoice(&mut conn, id).await? else {
        return Ok(None);
    };
    let (Some(due), true) = (invoice.next_attempt_at, invoice.status.is_open()) else {
        return Ok(None);
    };
    let until = now + chrono::Duration::milliseconds(app.config.bank_lease_ms as i64);
    if !store::lease(&mut conn, id, due, until).await? {
        return Ok(None);
    }
    let details = match invoice.account.holder() {
        Some(holder) => store::bank_details(&mut conn, holder).await?,
        None => BankDetails::default(),
    };
    Ok(Some((invoice, details)))
}

/// One attempt at the bank for `invoice` with its holder's `details`: the statement first
/// when the last answer was lost, then the collection or payout under the invoice's key.
async fn attempt(app: &App, invoice: &Invoice, details: BankDetails) -> Result<Outcome, CallError> {
    let key = invoice.entry_id().to_string();
    if invoice.in_doubt
        && let Some(executed) = app.bank.executed(&key).await?
    {
        tracing::info!(invoice = %invoice.id, operation = %executed.operation_id, "reconciled from the bank's statement");
        return Ok(Outcome::Executed(executed.operation_id));
    }
    let (target, missing) = match invoice.kind {
        InvoiceKind::Collection => (details.payment_method, "no payment method given"),
        InvoiceKind::Payout => (details.payout_account, "no bank account given"),
    };
    let Some(target) = target else {
        return Ok(Outcome::Refused(missing.into()));
    };
    let answer = app
        .bank
        .execute(invoice.kind, &key, &target, invoice.total, &invoice.id)
        .await;
    match answer {
        Ok(op) => Ok(Outcome::Executed(op.operation_id)),
        Err(CallError::Refused { code, why, .. }) => Ok(Outcome::Refused(match code {
            Some(code) => format!("{code}: {why}"),
            None => why,
        })),
        Err(e) => Err(e),
    }
}

/// Records `outcome` of an attempt on `invoice` in one unit of work: a payment is booked
/// (idempotently by its entry id) and announced, the holder mailed; a refusal is announced
/// and mailed to the holder; a lost answer is noted for the next attempt.
async fn record(app: &App, invoice: &Invoice, outcome: &Outcome) -> Result<(), BillingError> {
    let now = app.ctx.clock.now();
    let retry = app.config.retry();
    let Some(after) = invoice.attempted(outcome, now, retry) else {
        return Ok(());
    };
    let mut work = app.ctx.begin().await?;
    if !store::update_invoice(&mut work, invoice, &after).await? {
        // Another replica recorded an attempt first: its record stands.
        return Ok(());
    }
    let version = i64::from(after.attempts) + 1;
    match outcome {
        Outcome::Executed(operation) => {
            paid(app, &mut work, &after, operation, version, now).await?
        }
        Outcome::Refused(why) => {
            tracing::warn!(invoice = %after.id, error = %why, "invoice not settled");
            failed(app, &mut work, &after, why, version, now).await?;
        }
        Outcome::Lost(why) => {
            tracing::warn!(invoice = %after.id, error = %why, "no answer from the bank; in doubt");
        }
    }
    work.commit().await?;
    Ok(())
}

async fn paid(
    app: &App,
    work: &mut Work,
    invoice: &Invoice,
    operation: &str,
    version: i64,
    now: DateTime<Utc>,
) -> Result<(), BillingError> {
    let entry = invoice.booking(now).map_err(BillingError::ledger)?;
    let entry_id = entry.id().to_string();
    if let Posted::Already(_) = post(work, entry, now).await? {
        tracing::warn!(invoice = %invoice.id, "payment booked before; not announced again");
        return Ok(());
    }
    match invoice.account {
        LedgerAccount::Worker(worker) => {
            let sent = PayoutSent {
                invoice_id: invoice.id.clone(),
                worker_id: worker,
                amount: invoice.total,
                entry_id,
                bank_operation: operation.to_owned(),
                paid_at: now,
            };
            work.publish(&Envelope::new(&sent, version, None)).await?;
            super::cycles::mail(app, work, invoice, "payment_notice", &invoice.id).await?;
        }
        LedgerAccount::Client(client) => {
            let paid = InvoicePaid {
                invoice_id: invoice.id.clone(),
                client_id: client,
                amount: invoice.total,
                entry_id,
                bank_operation: operation.to_owned(),
                paid_at: now,
            };
            work.publish(&Envelope::new(&paid, version, None)).await?;
        }
        _ => {}
    }
    Ok(())
}

async fn failed(
    app: &App,
    work: &mut Work,
    invoice: &Invoice,
    why: &str,
    version: i64,
    now: DateTime<Utc>,
) -> Result<(), BillingError> {
    let Some(holder) = invoice.account.holder() else {
        return Ok(());
    };
    let event = InvoiceFailed {
        invoice_id: invoice.id.clone(),
        kind: invoice.kind.as_str().to_owned(),
        holder_id: holder,
        total: invoice.total,
        attempt: invoice.attempts,
        reason: why.to_owned(),
        next_attempt_at: invoice.next_attempt_at,
        failed_at: now,
    };
    work.publish(&Envelope::new(&event, version, None)).await?;
    let key = format!("{}:{}", invoice.id, invoice.attempts);
    super::cycles::mail(app, work, invoice, "invoice_failed", &key).await
}
