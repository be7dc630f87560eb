//! The unit of work: one write transaction that may publish events, and whose commit wakes
//! the relay, so no caller can forget to.

use std::ops::{Deref, DerefMut};

use contracts::Envelope;
use storage::{AnyConnection, Db, DbError, Tx};

use crate::Outbox;

/// A write transaction of a service plus its outbox: state changes, the events announcing
/// them ([`Work::publish`]) and, for idempotent requests, the stored response
/// ([`Work::idempotency`]) commit together or not at all.
///
/// Services start one with `Context::begin` (crate `service`), or [`Outbox::begin`]; event
/// handlers receive the consumer's. The pattern of a use case:
///
/// ```no_run
/// # use contracts::Envelope;
/// # async fn example(outbox: &messaging::Outbox, db: &storage::Db, event: &Envelope)
/// #     -> Result<(), storage::DbError> {
/// let mut work = outbox.begin(db).await?; // in a service: ctx.begin().await?
/// // Store functions take `&mut AnyConnection`: `&mut work` coerces to it.
/// # async fn insert_order(_: &mut storage::AnyConnection) -> Result<(), storage::DbError> { Ok(()) }
/// insert_order(&mut work).await?;
/// // A raw query uses `&mut *work` as its executor, as with a `Tx`.
/// storage::query("UPDATE counters SET n = n + 1").execute(&mut *work).await?;
/// work.publish(event).await?;
/// work.commit().await?; // commits, then wakes the relay because something was published
/// # Ok(()) }
/// ```
///
/// Dropping a `Work` without committing rolls it back (nothing is published).
///
/// # Why it dereferences to the connection, not to the `Tx`
///
/// `&mut *work` is an executor exactly like `&mut *tx` was, and `&mut work` (or `work`,
/// when you hold a `&mut Work`) coerces to the `&mut AnyConnection` store functions take.
/// Helpers that still take `&mut storage::Tx` should take `&mut AnyConnection` instead.
/// Keeping the transaction itself private leaves room for a nested unit of work over a
/// savepoint of the same connection (a batch of deliveries in one transaction, a savepoint
/// per event), which is a connection but not a `Tx`.
pub struct Work {
    tx: Tx,
    outbox: Outbox,
    /// Commit wakes the relay: something was published (or the consumer asked for it).
    wake: bool,
    /// Idempotency keys claimed fresh in this work whose response is not remembered yet.
    pub(crate) open_claims: usize,
}

impl Outbox {
    /// Starts a unit of work on `db` publishing into this outbox.
    pub async fn begin(&self, db: &Db) -> Result<Work, DbError> {
        Ok(Work {
            tx: db.begin().await?,
            outbox: self.clone(),
            wake: false,
            open_claims: 0,
        })
    }
}

impl Work {
    /// Adds `event` to the outbox inside this transaction: it is published if and only if
    /// the work commits, and the commit then wakes the relay.
    pub async fn publish(&mut self, event: &Envelope) -> Result<(), DbError> {
        crate::outbox::append(&mut self.tx, event).await?;
        self.wake = true;
        Ok(())
    }

    /// Whether this work has published an event so far.
    pub fn has_published(&self) -> bool {
        self.wake
    }

    /// Commits; once it returned `Ok`, wakes the relay if anything was published.
    ///
    /// # Panics
    ///
    /// If an idempotency key was claimed fresh ([`Work::idempotency`]) and its response not
    /// stored ([`Work::remember`]): committing would record the effect without the answer a
    /// retry must get. Nothing is committed then (the transaction is rolled back).
    pub async fn commit(self) -> Result<(), DbError> {
        assert!(
            self.open_claims == 0,
            "a unit of work claimed an idempotency key and commits without remembering the \
             response (call Work::remember before Work::commit)"
        );
        self.tx.commit().await?;
        if self.wake {
            self.outbox.committed();
        }
        Ok(())
    }

    /// Rolls back explicitly: nothing of the work is kept or published (dropping it does the
    /// same).
    pub async fn rollback(self) -> Result<(), DbError> {
        self.tx.rollback().await
    }
}

/// The savepoint of one delivery in a consumer's batch.
const DELIVERY: storage::Savepoint = storage::Savepoint::named("delivery");

/// What a savepoint restores besides the database: whether the work had published and how
/// many idempotency claims were open when it was taken.
pub(crate) struct Savepoint {
    wake: bool,
    open_claims: usize,
}

impl Work {
    /// Opens a savepoint (one per delivery of a consumer's batch): [`Work::rollback_to`]
    /// undoes everything done since, [`Work::release`] keeps it. One level only: the name is
    /// fixed, and a batch releases or rolls back each before taking the next.
    pub(crate) async fn savepoint(&mut self) -> Result<Savepoint, DbError> {
        DELIVERY.open(&mut self.tx).await?;
        Ok(Savepoint {
            wake: self.wake,
            open_claims: self.open_claims,
        })
    }

    /// Keeps what was done since the savepoint (it commits with the work).
    pub(crate) async fn release(&mut self, _savepoint: Savepoint) -> Result<(), DbError> {
        DELIVERY.release(&mut self.tx).await
    }

    /// Undoes what was done since the savepoint, events published and keys claimed included;
    /// the rest of the work goes on (on PostgreSQL this also clears an aborted statement).
    pub(crate) async fn rollback_to(&mut self, savepoint: Savepoint) -> Result<(), DbError> {
        DELIVERY.undo(&mut self.tx).await?;
        self.wake = savepoint.wake;
        self.open_claims = savepoint.open_claims;
        Ok(())
    }
}

impl Deref for Work {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for Work {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}
