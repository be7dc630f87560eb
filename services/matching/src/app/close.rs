//! An order ended (completed, canceled or failed): its booking no longer counts, a still
//! pending one is never matched, and completions and no-shows go into the worker's history.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use contracts::ordering::OrderFacts;
use messaging::Work;
use storage::DbError;

use crate::store;

/// How an order left Matching's bookings.
pub enum Outcome {
    Completed,
    Canceled,
    /// `no_show` (the worker did not come) or `not_matched`.
    Failed {
        reason: String,
    },
}

/// Applies an order's end in `work`. Idempotent (results are keyed by order).
pub async fn order_closed(
    work: &mut Work,
    order: &OrderFacts,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    store::lock_roster(work).await?;
    let status = match outcome {
        Outcome::Completed => "completed",
        Outcome::Canceled => "canceled",
        Outcome::Failed { .. } => "failed",
    };
    let booked = store::references::close(work, order, status, now).await?;
    let result = match &outcome {
        Outcome::Completed => Some("completed"),
        Outcome::Failed { reason } if reason == "no_show" => Some("no_show"),
        _ => None,
    };
    // The event's worker is the authority for the result; Matching's own booking may
    // differ only if the event is about an order Matching never assigned.
    let worker = order.worker_id.or(booked);
    if let (Some(outcome), Some(worker)) = (result, worker) {
        store::results::record(work, order, worker, outcome, now).await?;
    }
    for w in [booked, worker]
        .into_iter()
        .flatten()
        .collect::<BTreeSet<_>>()
    {
        store::changes::log(work, w, now).await?;
    }
    Ok(())
}
