//! Events published by Ordering.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Event;

/// A client asked for help: the order waits for Matching to pick a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderRequested {
    pub order_id: Uuid,
    pub client_id: String,
    pub service_type_id: Uuid,
    pub service_type_name: String,
    /// The skill the job needs; Matching scores workers on it.
    pub skill: String,
    pub description: String,
    /// When the job is to be done.
    pub scheduled_at: DateTime<Utc>,
    pub duration_minutes: i64,
    /// The service type's approximate price, in minor units.
    pub base_price: i64,
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
    pub order_id: Uuid,
    pub client_id: String,
    pub worker_id: Uuid,
    /// The price the client pays, in minor units.
    pub price: i64,
    pub service_type_id: Uuid,
    pub scheduled_at: DateTime<Utc>,
}

impl Event for OrderActivated {
    const TYPE: &'static str = "ordering.order.activated";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "ordering";
    fn aggregate_id(&self) -> String {
        self.order_id.to_string()
    }
}
