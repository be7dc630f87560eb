//! Idempotency keys: a retried request (same key, same content) gets the first one's
//! response instead of a second effect.
//!
//! The key, the effect and the stored response live in one [`Work`], so they commit
//! together: a crash or a refusal before the commit leaves no trace, and a retry runs
//! afresh. Every POST that creates something or moves money takes an `Idempotency-Key`
//! header (`web::idempotency_key` parses it) and goes like this:
//!
//! ```no_run
//! use messaging::idempotency::{Claim, request_hash};
//! use messaging::{Outbox, Work};
//!
//! # #[derive(serde::Serialize)] struct OrderIn { description: String }
//! # enum Answer { Created(String), Replayed(u16, String), KeyReused }
//! # async fn insert_order(_: &mut Work, _: &OrderIn) -> Result<String, storage::DbError> { Ok("{}".into()) }
//! /// `POST /orders` by `who`, with the header's `key`. In a service `outbox.begin(db)`
//! /// is `ctx.begin()`.
//! async fn request(outbox: &Outbox, db: &storage::Db, who: &str, key: &str, order: &OrderIn)
//!     -> Result<Answer, storage::DbError> {
//!     let mut work = outbox.begin(db).await?;
//!     // Claim first, before any other write: a concurrent twin waits here (see below).
//!     let scope = format!("{who} POST /orders");
//!     let hash = request_hash(&[&serde_json::to_vec(order).expect("serializable")]);
//!     let fresh = match work.idempotency(&scope, key, &hash).await? {
//!         Claim::Fresh(fresh) => fresh,
//!         // The same request again: answer what the first got (status and body).
//!         Claim::Replay { status, body } => return Ok(Answer::Replayed(status, body)),
//!         // The same key for another request: 422 `idempotency_key_reused`.
//!         Claim::Reused => return Ok(Answer::KeyReused),
//!     };
//!     let body = insert_order(&mut work, order).await?; // the effect (and its events)
//!     work.remember(fresh, 201, &body).await?;
//!     work.commit().await?;
//!     Ok(Answer::Created(body))
//! }
//! ```
//!
//! A request without the header simply skips the claim. A domain refusal returned before
//! the commit drops the work, so the key stays unused and the corrected request may reuse
//! it.
//!
//! # Scope and request hash
//!
//! The scope names who and which operation (`"<principal id> POST /orders"`): keys are the
//! clients' own, so two clients (or two operations) never collide. The hash covers what
//! makes the request the same request: the parsed body re-serialized (so whitespace and
//! field order do not matter) and any path ids, through [`request_hash`].
//!
//! # Two requests with the same key at the same time
//!
//! The claim inserts a placeholder row (`ON CONFLICT DO NOTHING`) and fills it with the
//! response before the commit. On PostgreSQL (READ COMMITTED) a second claim of the same
//! key blocks on the first's uncommitted row until that transaction ends: if it committed,
//! the second sees the stored response ([`Claim::Replay`]); if it rolled back, the second
//! claims it ([`Claim::Fresh`]). On SQLite writers take turns, so the second starts after
//! the first's turn ended, with the same outcomes; with group commit that may be before the
//! group's `COMMIT`, so a replay can be answered from a response whose commit then fails
//! (a failed fsync: rare, and the first request then fails too). Never two effects.
//! Claiming before any other write keeps the wait free of lock-order inversions.
//!
//! Rows are kept for the messaging retention (`messaging.retention_hours`) and pruned by
//! the relay with the outbox and inbox rows.

use sha2::{Digest, Sha256};
use storage::{DbError, Row};

use crate::Work;

/// How a request's idempotency key was claimed.
#[derive(Debug)]
#[must_use]
pub enum Claim {
    /// First use of the key: do the work, then [`Work::remember`] the response.
    Fresh(FreshKey),
    /// The key was used before for the same request: answer this stored response.
    Replay {
        /// The HTTP status the first request got.
        status: u16,
        /// The body it got.
        body: String,
    },
    /// The key was used before for a different request: refuse (422
    /// `idempotency_key_reused`).
    Reused,
}

/// A key this work claimed; hand it to [`Work::remember`] with the response before
/// committing.
#[derive(Debug)]
#[must_use = "remember the response with Work::remember before committing"]
pub struct FreshKey {
    scope: String,
    key: String,
}

/// A request's optional key, claimed: what a use case works with (a request without the
/// header simply goes ahead). See [`Work::claim_key`].
#[derive(Debug)]
#[must_use]
pub enum Keyed {
    /// Go ahead: do the effect, then hand the ticket to [`Work::answer`] with the answer.
    Go(Ticket),
    /// The same request came before with this key: answer what it got.
    Replay {
        /// The HTTP status the first request got.
        status: u16,
        /// The body it got (JSON).
        body: String,
    },
}

/// What [`Work::answer`] needs to store a keyed request's answer; empty when the request
/// carried no key.
#[derive(Debug)]
#[must_use = "store the answer with Work::answer before committing"]
pub struct Ticket(Option<FreshKey>);

/// Why a keyed request may not go ahead, or its answer could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key was used before for a different request: the service answers 422
    /// `idempotency_key_reused`.
    #[error("this Idempotency-Key was already used for a different request")]
    Reused,
    #[error(transparent)]
    Db(#[from] DbError),
    /// The request or the answer does not serialize (a bug).
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// The hash identifying a request: SHA-256 over the given parts (each prefixed with its
/// length, so `["ab", "c"]` and `["a", "bc"]` differ), as 64 lowercase hex digits.
///
/// ```
/// let a = messaging::idempotency::request_hash(&[b"order-1", br#"{"n":1}"#]);
/// assert_eq!(a, messaging::idempotency::request_hash(&[b"order-1", br#"{"n":1}"#]));
/// assert_ne!(a, messaging::idempotency::request_hash(&[b"order-1", br#"{"n":2}"#]));
/// assert_eq!(a.len(), 64);
/// ```
pub fn request_hash(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Work {
    /// Claims the request's optional `key` within `scope` (who and which operation, e.g.
    /// `"<account> POST /orders"`) for `request`: what makes it the same request (the parsed
    /// body, or the fields that matter, plus path ids), hashed from its JSON. The one entry
    /// point of the services' use cases:
    ///
    /// ```ignore
    /// let ticket = match work.claim_key(&scope, key, &req).await? {
    ///     Keyed::Go(ticket) => ticket,
    ///     Keyed::Replay { status, body } => return Ok(Created::Replayed { status, body }),
    /// };
    /// let order = /* the effect */;
    /// work.answer(ticket, 201, &order).await?;
    /// work.commit().await?;
    /// ```
    ///
    /// Claim before any other write of the work.
    pub async fn claim_key(
        &mut self,
        scope: &str,
        key: Option<&str>,
        request: &impl serde::Serialize,
    ) -> Result<Keyed, KeyError> {
        let Some(key) = key else {
            return Ok(Keyed::Go(Ticket(None)));
        };
        let hash = request_hash(&[&serde_json::to_vec(request)?]);
        match self.idempotency(scope, key, &hash).await? {
            Claim::Fresh(fresh) => Ok(Keyed::Go(Ticket(Some(fresh)))),
            Claim::Replay { status, body } => Ok(Keyed::Replay { status, body }),
            Claim::Reused => Err(KeyError::Reused),
        }
    }

    /// Stores `answer` (sent with `status`) for the key `ticket` claimed, if the request had
    /// one, so its retries get it. Before the commit.
    pub async fn answer(
        &mut self,
        ticket: Ticket,
        status: u16,
        answer: &impl serde::Serialize,
    ) -> Result<(), KeyError> {
        if let Some(fresh) = ticket.0 {
            let body = serde_json::to_string(answer)?;
            self.remember(fresh, status, &body).await?;
        }
        Ok(())
    }

    /// Claims `key` within `scope` for the request hashing to `request_hash` (see the
    /// [module](crate::idempotency) for the pattern and the concurrency argument). Claim
    /// before any other write of the work.
    pub async fn idempotency(
        &mut self,
        scope: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<Claim, DbError> {
        // A row pruned between the conflicting insert and the read: claim again. Twice is
        // plenty (the pruner deletes rows days old).
        for _ in 0..3 {
            let inserted = storage::query(
                "INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_at) \
                 VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (scope, key) DO NOTHING",
            )
            .bind(scope)
            .bind(key)
            .bind(request_hash)
            .bind(storage::now_micros())
            .execute(&mut **self)
            .await?
            .rows_affected();
            if inserted == 1 {
                self.open_claims += 1;
                return Ok(Claim::Fresh(FreshKey {
                    scope: scope.to_owned(),
                    key: key.to_owned(),
                }));
            }
            let row = storage::query(
                "SELECT request_hash, status, body FROM idempotency_keys \
                 WHERE scope = $1 AND key = $2",
            )
            .bind(scope)
            .bind(key)
            .fetch_optional(&mut **self)
            .await?;
            let Some(row) = row else { continue };
            if row.get::<String, _>("request_hash") != request_hash {
                return Ok(Claim::Reused);
            }
            let status: i64 = row.get("status");
            // Status 0 is the placeholder, which never commits (see `Work::commit`): only
            // this very work can see it, having claimed the key already.
            let status = u16::try_from(status)
                .ok()
                .filter(|s| *s != 0)
                .ok_or_else(|| {
                    DbError::undecodable(format!(
                        "idempotency key {key:?} of {scope:?} has no stored response \
                         (status {status}); was it claimed twice in one unit of work?"
                    ))
                })?;
            return Ok(Claim::Replay {
                status,
                body: row.get("body"),
            });
        }
        Err(DbError::undecodable(format!(
            "idempotency key {key:?} of {scope:?} neither inserts nor reads"
        )))
    }

    /// Stores the response of the request that claimed `fresh`, to be replayed to its
    /// retries. `status` is the HTTP status (100..=599); `body` what the client got,
    /// enough to answer a replay the same way (headers such as `Location` derive from it).
    pub async fn remember(
        &mut self,
        fresh: FreshKey,
        status: u16,
        body: &str,
    ) -> Result<(), DbError> {
        debug_assert!(
            (100..=599).contains(&status),
            "not an HTTP status: {status}"
        );
        let updated = storage::query(
            "UPDATE idempotency_keys SET status = $1, body = $2 WHERE scope = $3 AND key = $4",
        )
        .bind(i64::from(status))
        .bind(body)
        .bind(&fresh.scope)
        .bind(&fresh.key)
        .execute(&mut **self)
        .await?
        .rows_affected();
        if updated != 1 {
            return Err(DbError::undecodable(format!(
                "idempotency key {:?} of {:?} was not claimed in this unit of work",
                fresh.key, fresh.scope
            )));
        }
        self.open_claims -= 1;
        Ok(())
    }
}

/// Deletes keys created before `before` (unix µs); returns how many.
pub(crate) async fn prune(conn: &mut storage::AnyConnection, before: i64) -> Result<u64, DbError> {
    Ok(
        storage::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_hash_separates_parts_and_is_sha256_hex() {
        // SHA-256 of eight zero bytes (the length prefix of one empty part).
        assert_eq!(
            request_hash(&[b""]),
            "af5570f5a1810b7af78caf4bc70a660f0df51e42baf91d4de5b2328de0e83dfc"
        );
        assert_ne!(request_hash(&[b"ab", b"c"]), request_hash(&[b"a", b"bc"]));
        assert_ne!(request_hash(&[]), request_hash(&[b""]));
    }
}
