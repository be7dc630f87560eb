use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An order waiting for (or given) a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceSample {
    pub order_id: Uuid,
    pub client_id: String,
    pub skill: String,
    pub scheduled_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A worker as Matching sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalSample {
    pub id: Uuid,
    pub name: String,
    /// False while the worker takes no jobs at all.
    pub available: bool,
    /// Skill -> level, 0..=100.
    pub skills: BTreeMap<String, i64>,
}

/// A normal sample with what the pipeline needs to know about its current bookings.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub sample: NormalSample,
    /// Assignments overlapping the reference sample's time.
    pub overlapping: i64,
    /// Upcoming assignments in total (for load balance).
    pub load: i64,
}
