//! Inventory issued an order's supply kit: from now on its worker may check in, and the
//! order no longer fails at its scheduled time for want of the kit.

use contracts::inventory::KitIssued;
use messaging::Work;

use crate::error::OrderingError;
use crate::store;

/// Remembers that `issued`'s kit was handed out for its order (once, however often it is
/// heard; an order Ordering does not know is remembered too: the row only answers "was the
/// kit of this order issued").
pub async fn remember_kit_issued(work: &mut Work, issued: &KitIssued) -> Result<(), OrderingError> {
    store::insert_issued_kit(work, issued.order_id, issued.kit_id, issued.issued_at).await?;
    Ok(())
}
