use contracts::Envelope;
use storage::AnyConnection;

use crate::domain::timeline::entries_of;
use crate::domain::{OrderFile, QueueReason};
use crate::error::QualityError;
use crate::store;

/// An order-related event heard (in the consumer's unit of work, or replayed by a
/// rebuild): its timeline entries recorded, once each, and each touched order's file
/// folded again from its whole timeline. A failed or canceled order enters the review
/// queue (once; the queue is not part of the projection, so a rebuild leaves it be).
pub async fn record_event(conn: &mut AnyConnection, event: &Envelope) -> Result<(), QualityError> {
    let entries = entries_of(event).map_err(|e| {
        service::Refused::invalid("data", format!("{} does not decode: {e}", event.event_type))
    })?;
    // Every order the event is about is locked first, in id order (two events never wait
    // for each other's orders the other way round). Only PostgreSQL needs it: on SQLite a
    // write transaction has the database to itself (one writer at a time), so the fold
    // below already reads every entry committed before it, and the lock would be one more
    // write per order and event (5 of an order's 110 statements in embedded mode).
    if storage::Backend::of(conn) == storage::Backend::Postgres {
        let mut orders: Vec<_> = entries.iter().map(|e| e.order_id).collect();
        orders.sort();
        orders.dedup();
        for order in orders {
            store::lock_file(conn, order).await?;
        }
    }
    for entry in entries {
        if !store::insert_entry(conn, &entry).await? {
            continue;
        }
        let timeline = store::entries(conn, entry.order_id).await?;
        let file = OrderFile::fold(entry.order_id, &timeline);
        store::save_file(conn, &file).await?;
        if let Some((reason, at)) = file.queue_reason() {
            debug_assert_ne!(reason, QueueReason::Sampled);
            store::enqueue(conn, file.order_id, reason, None, at).await?;
        }
    }
    Ok(())
}
