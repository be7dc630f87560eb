use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use contracts::matching::StepScore;
use contracts::{AccountId, Money, OrderId, WorkerId};
use serde::{Deserialize, Serialize};

/// Levels at or above this are a normal sample's strengths.
pub const STRENGTH_FROM: i64 = 70;
/// Levels below this are a normal sample's weaknesses.
pub const WEAKNESS_BELOW: i64 = 40;

/// An order waiting for (or given) a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceSample {
    pub order_id: OrderId,
    pub client_id: AccountId,
    pub skill: String,
    pub scheduled_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Workers who must not be picked (the one who failed the original of a rebooked order).
    pub excluded_workers: Vec<WorkerId>,
    /// When this order is a copy of a failed one: the original.
    pub rebook_of: Option<OrderId>,
}

/// When an order starting at `start` and lasting `duration_minutes` ends; `None` when that
/// is not a representable time (a corrupt or hostile event: refused, never a panic).
pub fn ends_at(start: DateTime<Utc>, duration_minutes: i64) -> Option<DateTime<Utc>> {
    chrono::Duration::try_minutes(duration_minutes.max(0)).and_then(|d| start.checked_add_signed(d))
}

/// A worker as Matching sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NormalSample {
    pub id: WorkerId,
    pub name: String,
    /// False while the worker takes no jobs at all.
    pub available: bool,
    /// Skill -> level, 0..=100.
    pub skills: BTreeMap<String, i64>,
}

impl NormalSample {
    /// Skills at level 70 or more, strongest first.
    pub fn strengths(&self) -> Vec<String> {
        let mut s: Vec<_> = self
            .skills
            .iter()
            .filter(|(_, l)| **l >= STRENGTH_FROM)
            .collect();
        s.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        s.into_iter().map(|(k, _)| k.clone()).collect()
    }

    /// Skills below level 40, weakest first.
    pub fn weaknesses(&self) -> Vec<String> {
        let mut s: Vec<_> = self
            .skills
            .iter()
            .filter(|(_, l)| **l < WEAKNESS_BELOW)
            .collect();
        s.sort_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)));
        s.into_iter().map(|(k, _)| k.clone()).collect()
    }
}

/// How a normal sample's past jobs ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Orders completed.
    pub completed: i64,
    /// Orders failed because the worker did not show up.
    pub failed: i64,
}

impl History {
    /// Success rate with a uniform prior (Laplace): a newcomer scores 0.5, not 0, and one
    /// bad day does not sink an otherwise good record.
    pub fn success_rate(&self) -> f64 {
        let c = self.completed.max(0) as f64;
        let f = self.failed.max(0) as f64;
        (c + 1.0) / (c + f + 2.0)
    }
}

/// One finished job of a normal sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SampleResult {
    pub order_id: OrderId,
    /// `completed` or `no_show`.
    pub outcome: String,
    pub service_type_name: String,
    pub scheduled_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

/// A reference sample as managers read it: status, the chosen worker and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Assignment {
    pub order_id: OrderId,
    /// `pending`, `assigned`, `completed`, `canceled` or `failed`.
    pub status: String,
    pub skill: String,
    pub worker_id: Option<WorkerId>,
    pub price: Option<Money>,
    /// True when no worker passed every filter and the documented fallback picked one.
    pub fallback: bool,
    pub candidates: i64,
    /// The chosen worker's weighted total and the best possible one.
    pub total: Option<f64>,
    pub max_total: Option<f64>,
    /// One line for people.
    pub summary: Option<String>,
    /// Every step's verdict on the chosen worker, in pipeline order.
    pub explanation: Vec<StepScore>,
    /// Why some steps fell back (external steps that failed), by step.
    pub notes: BTreeMap<String, String>,
    /// The next best candidates, best first.
    pub runner_ups: Vec<super::pipeline::RunnerUp>,
    pub excluded_workers: Vec<WorkerId>,
    pub rebook_of: Option<OrderId>,
    pub scheduled_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_end_out_of_range_is_none_not_a_panic() {
        let start = DateTime::from_timestamp(4_000_000_000, 0).unwrap();
        assert_eq!(
            ends_at(start, 90),
            Some(start + chrono::Duration::minutes(90))
        );
        assert_eq!(ends_at(start, -5), Some(start));
        assert_eq!(ends_at(start, i64::MAX), None);
        assert_eq!(ends_at(DateTime::<Utc>::MAX_UTC, 1), None);
    }

    #[test]
    fn strengths_and_weaknesses_follow_the_thresholds() {
        let s = NormalSample {
            id: WorkerId::new(),
            name: "w".into(),
            available: true,
            skills: BTreeMap::from([
                ("a".to_owned(), 70),
                ("b".to_owned(), 95),
                ("c".to_owned(), 69),
                ("d".to_owned(), 40),
                ("e".to_owned(), 39),
                ("f".to_owned(), 0),
            ]),
        };
        assert_eq!(s.strengths(), ["b", "a"]);
        assert_eq!(s.weaknesses(), ["f", "e"]);
    }

    #[test]
    fn success_rate_has_a_prior() {
        assert_eq!(History::default().success_rate(), 0.5);
        let h = History {
            completed: 8,
            failed: 0,
        };
        assert!((h.success_rate() - 0.9).abs() < 1e-9);
        let h = History {
            completed: 0,
            failed: 2,
        };
        assert!((h.success_rate() - 0.25).abs() < 1e-9);
    }
}
