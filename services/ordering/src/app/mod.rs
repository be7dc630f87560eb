//! Ordering's use cases, one file each: load -> decide (the domain) -> save (the store) ->
//! publish -> commit, all in one unit of work ([`messaging::Work`]). Routes and event
//! handlers call these, never the store; the store never publishes.

mod activate_order;
mod add_service_type;
mod advance_clock;
mod cancel_order;
mod change_order;
mod check_in;
mod complete_order;
mod edit_service_type;
mod fail_overdue_orders;
mod notify;
mod photos;
mod queries;
mod rebook_order;
mod remember_person;
mod request_order;
mod retire_service_type;

pub use activate_order::{Activation, activate_order};
pub use add_service_type::add_service_type;
pub use advance_clock::advance_clock;
pub use cancel_order::cancel_order;
pub use check_in::check_in;
pub use complete_order::complete_order;
pub use edit_service_type::edit_service_type;
pub use fail_overdue_orders::fail_overdue_orders;
pub use photos::{PhotoKind, photo};
pub use queries::{OrderView, STAFF, jobs, order_view, orders, service_types, status_counts};
pub use rebook_order::rebook_order;
pub use remember_person::remember_person;
pub use request_order::request_order;
pub use retire_service_type::retire_service_type;

use messaging::Work;
use messaging::idempotency::{Claim, FreshKey};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::OrderingError;

/// What a use case that creates something answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Created<T> {
    /// Made now.
    New(T),
    /// Made before: a retry with the same `Idempotency-Key` and the same request (or, for a
    /// rebook, the same failed order) gets the first one back.
    Replayed(T),
}

/// A request's `Idempotency-Key` as claimed inside a unit of work.
enum Keyed<T> {
    /// Go ahead (`None`: the request carries no key).
    Fresh(Option<FreshKey>),
    /// The same request was answered before: this is what it got.
    Replayed(T),
}

/// Claims `key` (if any) for the request `hash` identifies, within `scope` (who and which
/// operation). First, before the work writes anything: a concurrent twin waits on it.
async fn claim<T: DeserializeOwned>(
    work: &mut Work,
    scope: &str,
    key: Option<&str>,
    hash: &str,
) -> Result<Keyed<T>, OrderingError> {
    let Some(key) = key else {
        return Ok(Keyed::Fresh(None));
    };
    match work.idempotency(scope, key, hash).await? {
        Claim::Fresh(fresh) => Ok(Keyed::Fresh(Some(fresh))),
        Claim::Replay { body, .. } => Ok(Keyed::Replayed(serde_json::from_str(&body)?)),
        Claim::Reused => Err(OrderingError::IdempotencyKeyReused),
    }
}

/// Remembers what a keyed request created (so its retry gets it), then commits.
async fn commit_created<T: Serialize>(
    mut work: Work,
    fresh: Option<FreshKey>,
    created: &T,
) -> Result<(), OrderingError> {
    if let Some(fresh) = fresh {
        let body = serde_json::to_string(created)?;
        work.remember(fresh, 201, &body).await?;
    }
    work.commit().await?;
    Ok(())
}
