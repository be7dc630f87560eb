//! Events published by Matching.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{OrderId, WorkerId};
use crate::{Event, Money};

/// Matching picked a worker (normal sample) for an order (reference sample) and priced it.
///
/// The aggregate is the order's match: `aggregate_version` counts assignments of the same
/// order, so a consumer keeps the newest and ignores a late, older one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WorkerAssigned {
    pub order_id: OrderId,
    pub worker_id: WorkerId,
    /// The price, in minor units.
    pub price: Money,
    /// True when every worker was filtered out and the documented fallback picked one.
    pub fallback: bool,
    /// How many workers were considered.
    pub candidates: i64,
    /// Each pipeline step's verdict on the chosen worker, in pipeline order.
    pub explanation: Vec<StepScore>,
}

/// One pipeline step's verdict on a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StepScore {
    /// The step's configured name.
    pub step: String,
    /// `filter` or `score`.
    pub kind: String,
    /// For filters: whether the worker passed.
    pub passed: bool,
    /// The step's raw score in 0..=1 (filters: 1 passed, 0 not).
    pub score: f64,
    /// The configured weight of the step in the total.
    pub weight: f64,
    /// Why the score is not the step's own verdict (an external step that timed out, failed
    /// or gave no score for this worker: its configured fallback was used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Event for WorkerAssigned {
    const TYPE: &'static str = "matching.worker.assigned";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "matching";
    fn aggregate_id(&self) -> String {
        self.order_id.to_string()
    }
}
