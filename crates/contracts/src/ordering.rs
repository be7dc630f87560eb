//! Events published by Ordering.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, OrderId, ServiceTypeId, WorkerId};
use crate::{Event, Money};

/// A client asked for help: the order waits for Matching to pick a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderRequested {
    pub order_id: OrderId,
    pub client_id: AccountId,
    pub service_type_id: ServiceTypeId,
    pub service_type_name: String,
    /// The skill the job needs; Matching scores workers on it.
    pub skill: String,
    pub description: String,
    /// When the job is to be done.
    pub scheduled_at: DateTime<Utc>,
    pub duration_minutes: i64,
    /// The service type's approximate price, in minor units.
    pub base_price: Money,
    /// When this order is a copy of a failed one: the original.
    #[serde(default)]
    pub rebook_of: Option<OrderId>,
    /// Workers Matching must not pick (the one who failed the original).
    #[serde(default)]
    pub excluded_workers: Vec<WorkerId>,
}

impl Event for OrderRequested {
    const TYPE: &'static str = "ordering.order.requested";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "ordering";
    fn aggregate_id(&self) -> String {
        self.order_id.to_string()
    }
}

/// Matching assigned a worker and set the price: the order is active.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderActivated {
    pub order_id: OrderId,
    pub client_id: AccountId,
    pub worker_id: WorkerId,
    /// The price the client pays, in minor units.
    pub price: Money,
    pub service_type_id: ServiceTypeId,
    pub scheduled_at: DateTime<Utc>,
    #[serde(default)]
    pub service_type_name: String,
    #[serde(default)]
    pub duration_minutes: i64,
    /// When this order is a copy of a failed one: the original.
    #[serde(default)]
    pub rebook_of: Option<OrderId>,
    /// What the client wrote: the job and where it is (the address is part of it). Empty
    /// in events published before Ordering sent it.
    #[serde(default)]
    pub description: String,
    /// The client's name as IAM announced it to Ordering; `None` while Ordering had not
    /// heard of the account (and in events published before Ordering sent it).
    #[serde(default)]
    pub client_name: Option<String>,
    /// The assigned worker's name, on the same terms as `client_name`.
    #[serde(default)]
    pub worker_name: Option<String>,
}

impl Event for OrderActivated {
    const TYPE: &'static str = "ordering.order.activated";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "ordering";
    fn aggregate_id(&self) -> String {
        self.order_id.to_string()
    }
}

/// What every order event after the request carries: the order as other contexts need it
/// (Billing: client, worker, price; Inventory: service type, time; Quality: the worker).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderFacts {
    pub order_id: OrderId,
    pub client_id: AccountId,
    /// The assigned worker, once there is one.
    pub worker_id: Option<WorkerId>,
    /// The price the client pays (minor units), once Matching set it.
    pub price: Option<Money>,
    pub service_type_id: ServiceTypeId,
    pub service_type_name: String,
    pub scheduled_at: DateTime<Utc>,
    pub duration_minutes: i64,
    /// When this order is a copy of a failed one: the original.
    pub rebook_of: Option<OrderId>,
}

/// The worker checked in on site (with a photo): the order is in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderStarted {
    #[serde(flatten)]
    pub order: OrderFacts,
    pub checked_in_at: DateTime<Utc>,
    /// Object-store key of the check-in photo (readable through Ordering's API).
    pub check_in_photo: String,
}

impl Event for OrderStarted {
    const TYPE: &'static str = "ordering.order.started";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "ordering";
    fn aggregate_id(&self) -> String {
        self.order.order_id.to_string()
    }
}

/// The worker finished and uploaded the report signed by the client: the order is done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderCompleted {
    #[serde(flatten)]
    pub order: OrderFacts,
    pub checked_in_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    /// Object-store key of the photo of the signed paper report.
    pub report_photo: String,
}

impl Event for OrderCompleted {
    const TYPE: &'static str = "ordering.order.completed";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "ordering";
    fn aggregate_id(&self) -> String {
        self.order.order_id.to_string()
    }
}

/// The client canceled the order (from requested or active).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderCanceled {
    #[serde(flatten)]
    pub order: OrderFacts,
    /// The status the order was in: `requested` or `active`.
    pub from_status: String,
    pub canceled_at: DateTime<Utc>,
    /// Who canceled (account id).
    pub canceled_by: AccountId,
    pub reason: Option<String>,
}

impl Event for OrderCanceled {
    const TYPE: &'static str = "ordering.order.canceled";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "ordering";
    fn aggregate_id(&self) -> String {
        self.order.order_id.to_string()
    }
}

/// Nobody checked in by the scheduled time plus the grace period: the order failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderFailed {
    #[serde(flatten)]
    pub order: OrderFacts,
    /// The status the order was in: `active` (the worker did not come) or `requested`
    /// (no worker was ever assigned).
    pub from_status: String,
    /// `no_show` or `not_matched`.
    // Since issue 14 also `kit_not_ready`: the supply kit was not issued by the scheduled
    // time, so the worker could not start (not his fault). The text above is the published
    // v1 schema's and stays as it is.
    pub reason: String,
    /// Whether the worker is to blame (Billing fines only then): `no_show` is his fault,
    /// `not_matched` and `kit_not_ready` (his supply kit was not issued by the scheduled
    /// time) are not. `None` in events published before the field existed: read
    /// [`OrderFailed::worker_at_fault`], which falls back to the reason.
    #[serde(default)]
    pub worker_at_fault: Option<bool>,
    /// The check-in deadline that passed (scheduled time + grace).
    pub deadline: DateTime<Utc>,
    pub failed_at: DateTime<Utc>,
}

impl OrderFailed {
    /// Whether the worker is to blame for the failure: the field when the event carries
    /// it, otherwise only a `no_show` is (the only reason that blamed him before).
    pub fn worker_at_fault(&self) -> bool {
        self.worker_at_fault.unwrap_or(self.reason == "no_show")
    }
}

impl Event for OrderFailed {
    const TYPE: &'static str = "ordering.order.failed";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "ordering";
    fn aggregate_id(&self) -> String {
        self.order.order_id.to_string()
    }
}

/// Ordering asks Mail to notify a client (order confirmed, no-show with a rebook offer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MailRequested {
    pub order_id: OrderId,
    pub request: crate::iam::MailRequest,
}

impl Event for MailRequested {
    const TYPE: &'static str = "ordering.mail.requested";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "ordering";
    /// Each request is its own aggregate (version 1).
    fn aggregate_id(&self) -> String {
        format!("mail:{}", self.request.idempotency_key)
    }
}
