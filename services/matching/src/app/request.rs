//! An order requested: kept as a reference sample and matched at once, or by the sweep when
//! external steps must be asked first.

use chrono::{DateTime, Utc};
use messaging::Work;
use tokio::sync::Notify;

use super::matcher::Matcher;
use crate::domain::samples::ReferenceSample;
use crate::error::MatchingError;
use crate::store;

/// Records `reference` (announced by the envelope `cause`, as JSON) in `work` and matches
/// it. A redelivered or already closed order changes nothing.
pub async fn order_requested(
    work: &mut Work,
    matcher: &Matcher,
    wake: &Notify,
    reference: &ReferenceSample,
    cause: &str,
    now: DateTime<Utc>,
) -> Result<(), MatchingError> {
    // The lock before the insert, as every roster writer does (no lock-order inversion
    // with a concurrent cancel of the same order).
    store::lock_roster(work).await?;
    if store::references::insert(work, reference, cause, now).await? {
        if matcher.has_external_steps() {
            // External steps are asked with no transaction open: the background sweep
            // decides once this commits.
            wake.notify_one();
        } else {
            matcher.match_order(work, reference.order_id, None).await?;
        }
    }
    Ok(())
}
