//! Rebuilding the timeline projection from the streams: the operator's `mcf quality
//! rebuild`, run while Quality is stopped. The timeline consumers are forgotten on the bus
//! (they start from the beginning of their streams at the next start) and in the inbox,
//! and the projection (timeline and order files) is emptied; when Quality starts again its
//! consumers replay every stream into it. Files are folded from their entries alone, so
//! the rebuilt projection equals the live one. The queue, samples, reviews, hypotheses and
//! adjustments are Quality's own records, not a projection: they stay as they are.
//!
//! The streams hold what the bus still keeps (`messaging.retention_hours` on the embedded
//! bus, 30 days on NATS): a rebuild after longer keeps only the newer part.

use messaging::Bus;
use storage::Db;

use crate::domain::timeline::HEARD;
use crate::events::consumer_name;
use crate::store;

/// What a reset removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reset {
    pub entries: u64,
    pub files: u64,
    pub inbox: u64,
}

/// Resets the projection of Quality's database `db` on `bus` for a rebuild (see the
/// module). Idempotent: a reset cut off half-way is run again.
pub async fn reset(db: &Db, bus: &Bus) -> anyhow::Result<Reset> {
    // The bus first: were the database step to fail after it, the consumers would go over
    // the streams again and their inbox would skip everything, leaving the projection as
    // it was.
    for (source, _) in HEARD {
        bus.forget_consumer(source, &consumer_name(source)).await?;
    }
    let mut tx = db.begin().await?;
    let (entries, files) = store::clear_projection(&mut tx).await?;
    let mut inbox = 0;
    for (source, _) in HEARD {
        inbox += messaging::consumer::forget_inbox(&mut tx, &consumer_name(source)).await?;
    }
    tx.commit().await?;
    Ok(Reset {
        entries,
        files,
        inbox,
    })
}
