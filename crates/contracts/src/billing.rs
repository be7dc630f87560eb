//! Events published by Billing: money booked in its ledger for someone. Each names the
//! ledger entry (`entry_id`, derived from the cause, so the same cause is never announced
//! for a second entry) and is its own aggregate (version 1). Quality and the portal read
//! them; the cycles' events (invoices issued, collected, paid out) join this file.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
