//! Invoices of the billing cycles, and how each is settled at the bank.
//!
//! - **Weekly** (a client's): the charges booked up to the week's end and not invoiced
//!   before; collected from the client's payment method. `issued -> paid`, or `failed` (the
//!   bank declined, no payment method given) and tried again with doubling pauses.
//! - **Monthly** (a worker's): earnings - penalties + awards booked up to the month's end
//!   and not invoiced before, plus what the previous month carried over. A positive total is
//!   paid out to the worker's bank account (`issued -> paid`, or `failed` and tried again);
//!   a negative one is `carried_over` into the next month; nothing due is `settled`.
//!
//! An invoice's id is `<period key>:<ledger account>`, so a period's invoice of an account
//! exists once. The bank's `Idempotency-Key` for its collection or payout is the id of the
//! ledger entry that books it ([`Invoice::entry_id`]): the same invoice never moves money
//! twice, and the ledger can be matched with the bank's statement key by key. An attempt
//! whose answer was lost (a timeout, a 500, a closed connection, the bank may have executed)
//! leaves the invoice `in_doubt`: the next attempt reads the bank's statement first.

use std::time::Duration;

use chrono::{DateTime, Utc};
use contracts::Money;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ledger::{
    Actor, Cause, CauseKind, CompanyAccount, Entry, EntryHead, EntryId, EntryKind, LedgerAccount,
    LedgerError,
};
use super::period::{Period, PeriodKind};

/// What an invoice asks of the bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    /// A client's weekly invoice, collected from the client.
    Collection,
    /// A worker's monthly invoice, paid out to the worker.
    Payout,
}

impl InvoiceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceKind::Collection => "collection",
            InvoiceKind::Payout => "payout",
        }
    }

    /// The cycle that issues it.
    pub fn period_kind(self) -> PeriodKind {
        match self {
            InvoiceKind::Collection => PeriodKind::Week,
            InvoiceKind::Payout => PeriodKind::Month,
        }
    }

    /// The ledger entry that books it when the bank executed it.
    pub fn entry_kind(self) -> EntryKind {
        match self {
            InvoiceKind::Collection => EntryKind::Collection,
            InvoiceKind::Payout => EntryKind::Payout,
        }
    }
}

impl std::str::FromStr for InvoiceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [InvoiceKind::Collection, InvoiceKind::Payout]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("not an invoice kind: {s:?}"))
    }
}

/// Where an invoice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Issued, the bank not asked yet or its answer not known yet.
    Issued,
    /// Collected or paid out: the bank executed it and the ledger booked it.
    Paid,
    /// The last attempt was refused (declined, no payment method or account given); tried
    /// again at `next_attempt_at`.
    Failed,
    /// A worker's negative total: nothing paid, carried into the next month.
    CarriedOver,
    /// Nothing due (a worker's total of zero).
    Settled,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Issued => "issued",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Failed => "failed",
            InvoiceStatus::CarriedOver => "carried_over",
            InvoiceStatus::Settled => "settled",
        }
    }

    /// Whether the bank still has to be asked.
    pub fn is_open(self) -> bool {
        matches!(self, InvoiceStatus::Issued | InvoiceStatus::Failed)
    }
}

impl std::str::FromStr for InvoiceStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            InvoiceStatus::Issued,
            InvoiceStatus::Paid,
            InvoiceStatus::Failed,
            InvoiceStatus::CarriedOver,
            InvoiceStatus::Settled,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| format!("not an invoice status: {s:?}"))
    }
}

/// One ledger entry an invoice covers, and what it adds to the invoice's total (as its
/// holder sees it: what the client owes, what MCF owes the worker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceLine {
    pub entry_id: EntryId,
    pub kind: EntryKind,
    pub amount: Money,
}

/// An invoice as issued and as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Invoice {
    /// `<period key>:<ledger account>`.
    pub id: String,
    pub kind: InvoiceKind,
    pub account: LedgerAccount,
    pub period: Period,
    pub lines: Vec<InvoiceLine>,
    /// What the previous month carried over (a worker's; zero or negative).
    pub carried_in: Money,
    /// The lines plus what was carried in: what is collected or paid out when positive.
    pub total: Money,
    pub status: InvoiceStatus,
    /// Attempts at the bank so far.
    pub attempts: u32,
    /// When the bank is asked (again); `None` once nothing is left to ask.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt's answer was lost: the bank may have executed it.
    pub in_doubt: bool,
    /// What the last failed attempt got.
    pub last_error: Option<String>,
    /// The bank's operation, once executed.
    pub bank_operation: Option<String>,
    pub issued_at: DateTime<Utc>,
    /// When it was paid, carried over or found nothing due.
    pub settled_at: Option<DateTime<Utc>>,
}

/// Why an invoice cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    #[error("the invoice's amounts do not fit in 64 bits")]
    Overflow,
    #[error("{0} is not invoiced by the {1:?} cycle")]
    WrongAccount(LedgerAccount, PeriodKind),
}

/// How the bank is asked again after a failed attempt: `initial` after the first, doubling,
/// at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub initial: Duration,
    pub max: Duration,
}

impl Retry {
    /// The pause after `attempts` failed attempts (at least 1).
    pub fn after(self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31);
        self.initial
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max)
            .min(self.max)
    }

    fn next(self, attempts: u32, now: DateTime<Utc>) -> DateTime<Utc> {
        chrono::Duration::from_std(self.after(attempts))
            .ok()
            .and_then(|pause| now.checked_add_signed(pause))
            .unwrap_or(now)
    }
}

/// An attempt's outcome at the bank, as the use case tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The bank executed it: its operation id.
    Executed(String),
    /// The bank refused, or there is nothing to ask it with (no payment method, no account):
    /// the reason, for the holder and for admins.
    Refused(String),
    /// No answer (timeouts, 5xx, closed connections): it may have been executed.
    Lost(String),
}

impl Invoice {
    /// The id of `account`'s invoice for `period`.
    pub fn id_of(period: &Period, account: LedgerAccount) -> String {
        format!("{}:{account}", period.key)
    }

    /// The invoice of `account` for `period` with `lines` (and, for a worker, what the
    /// previous month carried in), issued at `now`: `None` when there is nothing to invoice
    /// (no lines and nothing carried in). A client's week is collected; a worker's month is
    /// paid out when positive, carried over when negative, settled when zero.
    pub fn issue(
        period: &Period,
        account: LedgerAccount,
        lines: Vec<InvoiceLine>,
        carried_in: Money,
        now: DateTime<Utc>,
    ) -> Result<Option<Invoice>, InvoiceError> {
        let kind = match (period.kind, account) {
            (PeriodKind::Week, LedgerAccount::Client(_)) => InvoiceKind::Collection,
            (PeriodKind::Month, LedgerAccount::Worker(_)) => InvoiceKind::Payout,
            (kind, account) => return Err(InvoiceError::WrongAccount(account, kind)),
        };
        if lines.is_empty() && carried_in == Money::zero() {
            return Ok(None);
        }
        let mut total = carried_in;
        for line in &lines {
            total = total
                .checked_add(line.amount)
                .ok_or(InvoiceError::Overflow)?;
        }
        let status = if total > Money::zero() {
            InvoiceStatus::Issued
        } else if total < Money::zero() && kind == InvoiceKind::Payout {
            InvoiceStatus::CarriedOver
        } else {
            // Nothing due: a worker's zero, or a client's week of nothing owed.
            InvoiceStatus::Settled
        };
        let open = status.is_open();
        Ok(Some(Invoice {
            id: Invoice::id_of(period, account),
            kind,
            account,
            period: period.clone(),
            lines,
            carried_in,
            total,
            status,
            attempts: 0,
            next_attempt_at: open.then_some(now),
            in_doubt: false,
            last_error: None,
            bank_operation: None,
            issued_at: now,
            settled_at: (!open).then_some(now),
        }))
    }

    /// What the next month of a worker carries in from this invoice: its total when it
    /// was carried over, else nothing.
    pub fn carried_out(&self) -> Money {
        if self.status == InvoiceStatus::CarriedOver {
            self.total
        } else {
            Money::zero()
        }
    }

    /// The ledger entry that books the invoice's collection or payout; also the bank's
    /// `Idempotency-Key` for it.
    pub fn entry_id(&self) -> EntryId {
        EntryId::of(self.kind.entry_kind(), &self.id)
    }

    /// The invoice after an attempt at the bank ended with `outcome` at `now`: paid,
    /// failed (tried again after `retry`'s pause) or in doubt (the same). `None` when it
    /// was not open (settled meanwhile by another replica).
    pub fn attempted(
        &self,
        outcome: &Outcome,
        now: DateTime<Utc>,
        retry: Retry,
    ) -> Option<Invoice> {
        if !self.status.is_open() {
            return None;
        }
        let mut next = self.clone();
        next.attempts = self.attempts.saturating_add(1);
        match outcome {
            Outcome::Executed(operation) => {
                next.status = InvoiceStatus::Paid;
                next.bank_operation = Some(operation.clone());
                next.next_attempt_at = None;
                next.in_doubt = false;
                next.last_error = None;
                next.settled_at = Some(now);
            }
            Outcome::Refused(why) => {
                next.status = InvoiceStatus::Failed;
                next.in_doubt = false;
                next.last_error = Some(why.clone());
                next.next_attempt_at = Some(retry.next(next.attempts, now));
            }
            Outcome::Lost(why) => {
                // The status stays: the bank may have executed it, the next attempt will
                // find out from its statement.
                next.in_doubt = true;
                next.last_error = Some(why.clone());
                next.next_attempt_at = Some(retry.next(next.attempts, now));
            }
        }
        Some(next)
    }

    /// The balanced ledger entry booking the bank's execution at `now`: a collection
    /// credits the client (its debt settled) and debits the bank's collections clearing
    /// account; a payout debits the worker (MCF's debt settled) and credits the bank's
    /// payouts clearing account.
    pub fn booking(&self, now: DateTime<Utc>) -> Result<Entry, LedgerError> {
        let kind = self.kind.entry_kind();
        let (debited, credited, reason) = match self.kind {
            InvoiceKind::Collection => (
                LedgerAccount::Company(CompanyAccount::BankCollections),
                self.account,
                format!("invoice {} collected at the bank", self.id),
            ),
            InvoiceKind::Payout => (
                self.account,
                LedgerAccount::Company(CompanyAccount::BankPayouts),
                format!("invoice {} paid out at the bank", self.id),
            ),
        };
        let head = EntryHead {
            id: self.entry_id(),
            kind,
            reason,
            actor: Actor::Billing,
            cause: Cause {
                kind: CauseKind::Cycle,
                id: self.id.clone(),
                event_id: None,
            },
            booked_at: now,
        };
        Entry::transfer(head, debited, credited, self.total)
    }
}

#[cfg(test)]
mod tests {
    use contracts::{AccountId, WorkerId};

    use super::*;
    use crate::domain::period::{Zone, month_of, week_of};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn line(n: u32, kind: EntryKind, minor: i64) -> InvoiceLine {
        InvoiceLine {
            entry_id: EntryId::of(kind, n),
            kind,
            amount: Money::from_minor(minor),
        }
    }

    const RETRY: Retry = Retry {
        initial: Duration::from_secs(60),
        max: Duration::from_secs(3600),
    };

    fn week() -> Period {
        week_of(at("2026-11-25T12:00:00Z"), Zone::utc()).unwrap()
    }

    fn month() -> Period {
        month_of(at("2026-11-25T12:00:00Z"), Zone::utc()).unwrap()
    }

    #[test]
    fn given_a_clients_charges_then_the_weekly_invoice_collects_their_sum() {
        // Given a client charged 95 and 114 in the week
        let client = LedgerAccount::Client(AccountId::new());
        let lines = vec![
            line(1, EntryKind::ClientCharge, 95),
            line(2, EntryKind::ClientCharge, 114),
        ];
        let now = week().end;
        // When the week is invoiced
        let invoice = Invoice::issue(&week(), client, lines, Money::zero(), now)
            .unwrap()
            .unwrap();
        // Then it collects 209, due now, keyed by its entry
        assert_eq!(
            (invoice.kind, invoice.status, invoice.total),
            (
                InvoiceKind::Collection,
                InvoiceStatus::Issued,
                Money::from_minor(209)
            )
        );
        assert_eq!(invoice.next_attempt_at, Some(now));
        assert_eq!(invoice.id, format!("2026-W48:{client}"));
        assert_eq!(
            invoice.entry_id().as_str(),
            format!("collection:2026-W48:{client}")
        );
        // And a week without charges has no invoice
        assert_eq!(
            Invoice::issue(&week(), client, vec![], Money::zero(), now),
            Ok(None)
        );
    }

    #[test]
    fn given_a_workers_month_then_a_positive_total_is_paid_a_negative_one_carried_over() {
        let worker = LedgerAccount::Worker(WorkerId::new());
        let now = month().end;
        // Given earnings 60 + 72, a penalty of 40 and an award of 10
        let lines = vec![
            line(1, EntryKind::WorkerEarning, 60),
            line(2, EntryKind::WorkerEarning, 72),
            line(3, EntryKind::WorkerPenalty, -40),
            line(4, EntryKind::Award, 10),
        ];
        let paid = Invoice::issue(&month(), worker, lines, Money::zero(), now)
            .unwrap()
            .unwrap();
        assert_eq!(
            (paid.kind, paid.status, paid.total),
            (
                InvoiceKind::Payout,
                InvoiceStatus::Issued,
                Money::from_minor(102)
            )
        );
        // Given only a penalty: carried over, nothing to ask the bank
        let penalty = vec![line(5, EntryKind::WorkerPenalty, -40)];
        let carried = Invoice::issue(&month(), worker, penalty, Money::zero(), now)
            .unwrap()
            .unwrap();
        assert_eq!(
            (carried.status, carried.next_attempt_at),
            (InvoiceStatus::CarriedOver, None)
        );
        assert_eq!(carried.carried_out(), Money::from_minor(-40));
        // When next month earns 60, then 20 is paid
        let next = month().next(Zone::utc()).unwrap();
        let earned = vec![line(6, EntryKind::WorkerEarning, 60)];
        let after = Invoice::issue(&next, worker, earned, carried.carried_out(), next.end)
            .unwrap()
            .unwrap();
        assert_eq!(
            (after.status, after.total, after.carried_in),
            (
                InvoiceStatus::Issued,
                Money::from_minor(20),
                Money::from_minor(-40)
            )
        );
        // And a month that nets to zero is settled
        let even = vec![
            line(7, EntryKind::WorkerEarning, 40),
            line(8, EntryKind::WorkerPenalty, -40),
        ];
        let settled = Invoice::issue(&month(), worker, even, Money::zero(), now)
            .unwrap()
            .unwrap();
        assert_eq!(settled.status, InvoiceStatus::Settled);
        // And a month with nothing but a carried debt carries it on
        let on = Invoice::issue(&next, worker, vec![], Money::from_minor(-40), next.end)
            .unwrap()
            .unwrap();
        assert_eq!(on.status, InvoiceStatus::CarriedOver);
    }

    #[test]
    fn given_the_wrong_cycle_for_an_account_then_no_invoice_is_made() {
        let worker = LedgerAccount::Worker(WorkerId::new());
        let client = LedgerAccount::Client(AccountId::new());
        let lines = vec![line(1, EntryKind::ClientCharge, 95)];
        assert!(Invoice::issue(&week(), worker, lines.clone(), Money::zero(), week().end).is_err());
        assert!(Invoice::issue(&month(), client, lines, Money::zero(), month().end).is_err());
        let huge = vec![
            line(1, EntryKind::ClientCharge, i64::MAX),
            line(2, EntryKind::ClientCharge, 1),
        ];
        assert_eq!(
            Invoice::issue(&week(), client, huge, Money::zero(), week().end),
            Err(InvoiceError::Overflow)
        );
    }

    fn issued() -> Invoice {
        let client = LedgerAccount::Client(AccountId::new());
        Invoice::issue(
            &week(),
            client,
            vec![line(1, EntryKind::ClientCharge, 95)],
            Money::zero(),
            week().end,
        )
        .unwrap()
        .unwrap()
    }

    #[test]
    fn given_refusals_then_the_invoice_fails_and_is_tried_again_after_doubling_pauses() {
        let t0 = week().end;
        let once = issued()
            .attempted(&Outcome::Refused("declined".into()), t0, RETRY)
            .unwrap();
        assert_eq!((once.status, once.attempts), (InvoiceStatus::Failed, 1));
        assert_eq!(
            once.next_attempt_at,
            Some(t0 + chrono::Duration::seconds(60))
        );
        let twice = once
            .attempted(&Outcome::Refused("declined".into()), t0, RETRY)
            .unwrap();
        assert_eq!(
            twice.next_attempt_at,
            Some(t0 + chrono::Duration::seconds(120))
        );
        // The pause never exceeds the maximum, whatever the count
        assert_eq!(RETRY.after(40), Duration::from_secs(3600));
        assert_eq!(RETRY.after(u32::MAX), Duration::from_secs(3600));
        // And a failed invoice is paid by a later attempt
        let paid = twice
            .attempted(&Outcome::Executed("op_1".into()), t0, RETRY)
            .unwrap();
        assert_eq!(
            (
                paid.status,
                paid.next_attempt_at,
                paid.last_error.as_deref()
            ),
            (InvoiceStatus::Paid, None, None)
        );
        // And a paid invoice takes no further attempt
        assert_eq!(
            paid.attempted(&Outcome::Refused("declined".into()), t0, RETRY),
            None
        );
    }

    #[test]
    fn given_a_lost_answer_then_the_invoice_is_in_doubt_until_an_answer_comes() {
        let t0 = week().end;
        let lost = issued()
            .attempted(&Outcome::Lost("timed out".into()), t0, RETRY)
            .unwrap();
        assert_eq!((lost.status, lost.in_doubt), (InvoiceStatus::Issued, true));
        let found = lost
            .attempted(&Outcome::Executed("op_1".into()), t0, RETRY)
            .unwrap();
        assert_eq!(
            (
                found.status,
                found.in_doubt,
                found.bank_operation.as_deref()
            ),
            (InvoiceStatus::Paid, false, Some("op_1"))
        );
    }

    #[test]
    fn a_paid_invoice_books_a_balanced_entry_through_the_bank_clearing_accounts() {
        let invoice = issued();
        let entry = invoice.booking(week().end).unwrap();
        assert_eq!(entry.id(), &invoice.entry_id());
        assert_eq!(entry.amount_for(invoice.account), Money::from_minor(-95));
        assert_eq!(
            entry.amount_for(LedgerAccount::Company(CompanyAccount::BankCollections)),
            Money::from_minor(95)
        );
        let worker = LedgerAccount::Worker(WorkerId::new());
        let payout = Invoice::issue(
            &month(),
            worker,
            vec![line(1, EntryKind::WorkerEarning, 60)],
            Money::zero(),
            month().end,
        )
        .unwrap()
        .unwrap();
        let entry = payout.booking(month().end).unwrap();
        assert_eq!(entry.amount_for(worker), Money::from_minor(60));
        assert_eq!(
            entry.amount_for(LedgerAccount::Company(CompanyAccount::BankPayouts)),
            Money::from_minor(-60)
        );
    }
}
