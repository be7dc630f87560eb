use chrono::{DateTime, Utc};
use messaging::Work;

use crate::domain::Entry;
use crate::error::BillingError;
use crate::store;

/// What appending an entry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// Appended now: the caller publishes what it announces, in the same work.
    New(Entry),
    /// Its cause was booked before (the same id): nothing was written; the stored entry,
    /// which may differ from the one offered (a charge recomputed after the client paid
    /// more), is the one that counts.
    Already(Entry),
}

impl Posted {
    /// Whether the entry was appended now.
    pub fn is_new(&self) -> bool {
        matches!(self, Posted::New(_))
    }

    /// The entry in the ledger.
    pub fn entry(&self) -> &Entry {
        match self {
            Posted::New(e) | Posted::Already(e) => e,
        }
    }
}

/// Appends `entry` to the ledger in `work`, opening the personal accounts it posts to that
/// are not open yet (a worker paid before Hiring's news arrived, a manager staking before
/// IAM's). Idempotent by the entry's id, which its cause determines: a replay of the same
/// cause writes nothing and answers the stored entry. The one way money moves: every use
/// case that books builds a balanced [`Entry`] (domain) and hands it here.
pub async fn post(
    work: &mut Work,
    entry: Entry,
    now: DateTime<Utc>,
) -> Result<Posted, BillingError> {
    for posting in entry.postings() {
        if posting.account.kind().is_personal() {
            store::open_account(work, posting.account, now).await?;
        }
    }
    if store::insert_entry(work, &entry).await? {
        return Ok(Posted::New(entry));
    }
    let stored = store::entry(work, entry.id()).await?.ok_or_else(|| {
        BillingError::ledger(format!("entry {} neither inserts nor reads", entry.id()))
    })?;
    Ok(Posted::Already(stored))
}
