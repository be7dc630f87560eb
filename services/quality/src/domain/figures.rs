//! Failure and cancellation rates for managers, by worker, service type or week, over the
//! orders whose life ended. Pure.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::timeline::Status;

/// What the figures are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Worker,
    ServiceType,
    /// The ISO week of the scheduled time (`2026-W48`).
    Week,
}

/// One finished order as the figures count it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub status: Status,
    pub worker: Option<String>,
    pub service_type: Option<(String, Option<String>)>,
    pub scheduled_at: DateTime<Utc>,
}

/// One group's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Figure {
    /// The worker's id, the service type's id or the ISO week; `none` for orders canceled
    /// before any worker was assigned.
    pub key: String,
    /// The service type's name, when grouped by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Orders whose life ended: completed, failed or canceled.
    pub orders: i64,
    pub completed: i64,
    pub failed: i64,
    pub canceled: i64,
    /// failed / orders (0 to 1, four decimals).
    pub failure_rate: f64,
    /// canceled / orders.
    pub cancellation_rate: f64,
}

fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    // Counts are far below 2^52: exact as floats.
    ((part as f64 / whole as f64) * 10_000.0).round() / 10_000.0
}

/// The ISO week of `t`, as `2026-W48`.
pub fn iso_week(t: DateTime<Utc>) -> String {
    let week = t.iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// The figures of `orders` grouped `by`, ordered by key. Orders not yet finished count
/// nowhere.
pub fn figures(orders: &[Finished], by: GroupBy) -> Vec<Figure> {
    let mut groups: BTreeMap<String, Figure> = BTreeMap::new();
    for order in orders.iter().filter(|o| o.status.is_final()) {
        let (key, label) = match by {
            GroupBy::Worker => (order.worker.clone().unwrap_or_else(|| "none".into()), None),
            GroupBy::ServiceType => match &order.service_type {
                Some((id, name)) => (id.clone(), name.clone()),
                None => ("none".into(), None),
            },
            GroupBy::Week => (iso_week(order.scheduled_at), None),
        };
        let figure = groups.entry(key.clone()).or_insert_with(|| Figure {
            key,
            label,
            orders: 0,
            completed: 0,
            failed: 0,
            canceled: 0,
            failure_rate: 0.0,
            cancellation_rate: 0.0,
        });
        figure.orders = figure.orders.saturating_add(1);
        let count = match order.status {
            Status::Failed => &mut figure.failed,
            Status::Canceled => &mut figure.canceled,
            _ => &mut figure.completed,
        };
        *count = count.saturating_add(1);
    }
    groups
        .into_values()
        .map(|mut f| {
            f.failure_rate = rate(f.failed, f.orders);
            f.cancellation_rate = rate(f.canceled, f.orders);
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(status: Status, worker: &str, at: &str) -> Finished {
        Finished {
            status,
            worker: Some(worker.into()),
            service_type: Some(("st".into(), Some("Cleaning".into()))),
            scheduled_at: at.parse().unwrap(),
        }
    }

    #[test]
    fn given_finished_orders_then_rates_per_worker_count_only_finished_ones() {
        // Given tom: one completed, one failed, one canceled, one still active; ann: one completed
        let orders = [
            order(Status::Completed, "tom", "2026-11-23T10:00:00Z"),
            order(Status::Failed, "tom", "2026-11-24T10:00:00Z"),
            order(Status::Canceled, "tom", "2026-11-30T10:00:00Z"),
            order(Status::Active, "tom", "2026-11-30T10:00:00Z"),
            order(Status::Completed, "ann", "2026-11-30T10:00:00Z"),
        ];
        // When grouped by worker
        let by_worker = figures(&orders, GroupBy::Worker);
        // Then ann 0/1 failed; tom 1/3 failed and 1/3 canceled
        assert_eq!(by_worker.len(), 2);
        assert_eq!(
            (by_worker[0].key.as_str(), by_worker[0].failure_rate),
            ("ann", 0.0)
        );
        let tom = &by_worker[1];
        assert_eq!(
            (tom.orders, tom.completed, tom.failed, tom.canceled),
            (3, 1, 1, 1)
        );
        assert_eq!((tom.failure_rate, tom.cancellation_rate), (0.3333, 0.3333));
    }

    #[test]
    fn given_orders_in_two_weeks_then_the_weekly_figures_name_iso_weeks() {
        // Given orders in the weeks of 23 and 30 November 2026
        let orders = [
            order(Status::Failed, "tom", "2026-11-23T10:00:00Z"),
            order(Status::Completed, "tom", "2026-11-30T10:00:00Z"),
        ];
        // When grouped by week / Then W48 all failed, W49 none
        let weeks = figures(&orders, GroupBy::Week);
        let keys: Vec<&str> = weeks.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, vec!["2026-W48", "2026-W49"]);
        assert_eq!((weeks[0].failure_rate, weeks[1].failure_rate), (1.0, 0.0));
        // And by service type, the name is the label
        let types = figures(&orders, GroupBy::ServiceType);
        assert_eq!(types[0].label.as_deref(), Some("Cleaning"));
    }
}
