//! Events published by Billing: money booked in its ledger for someone. Each names the
//! ledger entry (`entry_id`, derived from the cause, so the same cause is never announced
//! for a second entry) and is its own aggregate (version 1). Quality and the portal read
//! them; the cycles' events (invoices issued, collected, paid out) join this file.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::iam::MailRequest;
use crate::ids::{AccountId, AwardId, OrderId, WorkerId};
use crate::{Event, Money};

/// An order became active and its client was charged its price less the loyalty discount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClientCharged {
    /// The ledger entry (`client_charge:<order id>`).
    pub entry_id: String,
    pub order_id: OrderId,
    pub client_id: AccountId,
    /// The order's price, in minor units.
    pub price: Money,
    /// The loyalty discount's percent (0 to 12 with the spec's table).
    pub discount_percent: i64,
    /// The discount, in minor units (`price - amount`).
    pub discount: Money,
    /// What the client was charged, in minor units.
    pub amount: Money,
    /// When it was booked (business time): the week it is invoiced in.
    pub booked_at: DateTime<Utc>,
}

impl Event for ClientCharged {
    const TYPE: &'static str = "billing.client.charged";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "billing";
    fn aggregate_id(&self) -> String {
        self.entry_id.clone()
    }
}

/// A worker earned a share of a completed order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WorkerCredited {
    /// The ledger entry (`worker_earning:<order id>`).
    pub entry_id: String,
    pub order_id: OrderId,
    pub worker_id: WorkerId,
    /// The order's full price, in minor units.
    pub order_price: Money,
    /// The worker's share, in minor units.
    pub amount: Money,
    pub booked_at: DateTime<Utc>,
}

impl Event for WorkerCredited {
    const TYPE: &'static str = "billing.worker.credited";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "billing";
    fn aggregate_id(&self) -> String {
        self.entry_id.clone()
    }
}

/// A worker at fault for a failed order was charged the penalty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WorkerPenalized {
    /// The ledger entry (`worker_penalty:<order id>`).
    pub entry_id: String,
    pub order_id: OrderId,
    pub worker_id: WorkerId,
    /// The penalty, in minor units.
    pub amount: Money,
    /// Why the order failed, as Ordering said (`no_show`).
    pub failure_reason: String,
    pub booked_at: DateTime<Utc>,
}

impl Event for WorkerPenalized {
    const TYPE: &'static str = "billing.worker.penalized";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "billing";
    fn aggregate_id(&self) -> String {
        self.entry_id.clone()
    }
}

/// A manager granted a worker an award.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AwardGranted {
    /// The ledger entry (`award:<award id>`).
    pub entry_id: String,
    pub award_id: AwardId,
    pub worker_id: WorkerId,
    /// The award, in minor units.
    pub amount: Money,
    /// Why, as the manager wrote it.
    pub reason: String,
    pub granted_by: AccountId,
    pub booked_at: DateTime<Utc>,
}

impl Event for AwardGranted {
    const TYPE: &'static str = "billing.award.granted";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "billing";
    fn aggregate_id(&self) -> String {
        self.entry_id.clone()
    }
}

/// A billing cycle issued an invoice: a client's week (`kind` `collection`) or a worker's
/// month (`payout`). `status` is `issued` when the bank is to be asked, `carried_over` (a
/// worker's negative month) or `settled` (nothing due).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceIssued {
    /// `<period key>:<ledger account>` (`2026-W48:client:<id>`, `2026-11:worker:<id>`).
    pub invoice_id: String,
    pub kind: String,
    /// The client or worker invoiced.
    pub holder_id: AccountId,
    /// The period's key (`2026-W48`, `2026-11`).
    pub period: String,
    /// The ledger entries it covers.
    pub entry_ids: Vec<String>,
    /// What the previous month carried in (a worker's; zero or negative).
    pub carried_in: Money,
    /// What is collected or paid out, in minor units (as the holder sees it).
    pub total: Money,
    pub status: String,
    pub issued_at: DateTime<Utc>,
}

impl Event for InvoiceIssued {
    const TYPE: &'static str = "billing.invoice.issued";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "billing";
    /// The invoice is the aggregate: issued at version 1, each attempt at the bank one more.
    fn aggregate_id(&self) -> String {
        format!("invoice:{}", self.invoice_id)
    }
}

/// A client's invoice was collected at the bank and booked (`collection:<invoice id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InvoicePaid {
    pub invoice_id: String,
    pub client_id: AccountId,
    pub amount: Money,
    /// The ledger entry booking it, also the bank's `Idempotency-Key`.
    pub entry_id: String,
    /// The bank's operation.
    pub bank_operation: String,
    pub paid_at: DateTime<Utc>,
}

impl Event for InvoicePaid {
    const TYPE: &'static str = "billing.invoice.paid";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "billing";
    fn aggregate_id(&self) -> String {
        format!("invoice:{}", self.invoice_id)
    }
}

/// An attempt to collect or pay out an invoice was refused (the bank declined, no payment
/// method or account given); it is tried again at `next_attempt_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceFailed {
    pub invoice_id: String,
    pub kind: String,
    pub holder_id: AccountId,
    pub total: Money,
    /// The attempt that failed (1 for the first).
    pub attempt: u32,
    pub reason: String,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub failed_at: DateTime<Utc>,
}

impl Event for InvoiceFailed {
    const TYPE: &'static str = "billing.invoice.failed";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "billing";
    fn aggregate_id(&self) -> String {
        format!("invoice:{}", self.invoice_id)
    }
}

/// A worker's monthly invoice was paid out at the bank and booked (`payout:<invoice id>`,
/// which is also the payout's id and the bank's `Idempotency-Key`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PayoutSent {
    pub invoice_id: String,
    pub worker_id: WorkerId,
    pub amount: Money,
    pub entry_id: String,
    pub bank_operation: String,
    pub paid_at: DateTime<Utc>,
}

impl Event for PayoutSent {
    const TYPE: &'static str = "billing.payout.sent";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "billing";
    fn aggregate_id(&self) -> String {
        format!("invoice:{}", self.invoice_id)
    }
}

/// Billing asks Mail to send a notification (a client's invoice and its failures, a
/// worker's payment notice), through its outbox: committed with what it tells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MailRequested {
    /// The invoice the mail is about.
    pub invoice_id: String,
    pub request: MailRequest,
}

impl Event for MailRequested {
    const TYPE: &'static str = "billing.mail.requested";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "billing";
    /// Each request is its own aggregate (version 1).
    fn aggregate_id(&self) -> String {
        format!("mail:{}", self.request.idempotency_key)
    }
}
