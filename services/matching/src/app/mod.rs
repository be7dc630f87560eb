//! Matching's use cases, one file each: load -> decide (in `domain`) -> save (in `store`)
//! -> publish -> commit, in one unit of work. Routes and event handlers call these only.
//!
//! - [`register`]: a worker's profile saved (registered, replaced, hired), levels audited.
//! - [`adjust`]: one skill level set or changed, audited (Quality, managers).
//! - [`request`]: an order requested becomes a reference sample and is matched.
//! - [`matcher`]: the decision over the in-memory roster, and the sweep of waiting orders.
//! - [`close`]: an order ended: its booking released, the worker's result recorded.
//! - [`profile`], [`audit`], [`assignments`]: what people read.

pub mod adjust;
pub mod assignments;
pub mod audit;
pub mod close;
pub mod matcher;
pub mod profile;
pub mod register;
pub mod request;

use messaging::Work;
use messaging::idempotency::{Claim, FreshKey};
use serde::Serialize;

use crate::error::MatchingError;

/// A request's `Idempotency-Key` and the hash of what makes it the same request.
#[derive(Debug, Clone)]
pub struct Idempotent {
    pub key: String,
    pub hash: String,
}

impl Idempotent {
    /// The key `key` (if the request has one) for a request made of `parts` (its body as
    /// parsed, re-serialized, and its path ids).
    pub fn of(key: Option<String>, parts: &[&[u8]]) -> Option<Idempotent> {
        key.map(|key| Idempotent {
            key,
            hash: messaging::idempotency::request_hash(parts),
        })
    }
}

/// What a use case reached by a keyed request answers.
#[derive(Debug)]
pub enum Answer<T> {
    /// Done now; `created` when it made something new.
    Done { created: bool, value: T },
    /// The same request came before with the same key: the body it was answered.
    Replay { body: String },
}

/// A fresh claim to remember (None: the request had no key), or the first answer.
enum Claimed {
    Fresh(Option<FreshKey>),
    Replay(String),
}

/// Claims `key` in `work` under `scope` (who and which operation). Call it before any
/// other write.
async fn claim(
    work: &mut Work,
    scope: &str,
    key: Option<&Idempotent>,
) -> Result<Claimed, MatchingError> {
    let Some(k) = key else {
        return Ok(Claimed::Fresh(None));
    };
    match work.idempotency(scope, &k.key, &k.hash).await? {
        Claim::Fresh(fresh) => Ok(Claimed::Fresh(Some(fresh))),
        Claim::Replay { body, .. } => Ok(Claimed::Replay(body)),
        Claim::Reused => Err(MatchingError::IdempotencyKeyReused),
    }
}

/// Stores the answer of a keyed request beside its effect.
async fn remember<T: Serialize>(
    work: &mut Work,
    fresh: Option<FreshKey>,
    status: u16,
    value: &T,
) -> Result<(), MatchingError> {
    if let Some(fresh) = fresh {
        work.remember(fresh, status, &serde_json::to_string(value)?)
            .await?;
    }
    Ok(())
}
