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
use messaging::idempotency::{KeyError, Keyed};
use serde::Serialize;

/// A request's `Idempotency-Key` with what makes it the same request: its body as sent
/// (a registration without an id gets a new one, so the body, not the sample, is the
/// request).
#[derive(Debug, Clone)]
pub struct Idempotent {
    pub key: String,
    pub request: serde_json::Value,
}

impl Idempotent {
    /// The key `key` (if the request has one) for `request`.
    pub fn of(
        key: Option<String>,
        request: &impl Serialize,
    ) -> Result<Option<Idempotent>, serde_json::Error> {
        key.map(|key| {
            Ok(Idempotent {
                key,
                request: serde_json::to_value(request)?,
            })
        })
        .transpose()
    }

    /// Claims the request's key, if any, in `work` under `scope` (who and which
    /// operation); before any other write.
    async fn claim(
        key: Option<&Idempotent>,
        work: &mut Work,
        scope: &str,
    ) -> Result<Keyed, KeyError> {
        match key {
            Some(k) => work.claim_key(scope, Some(&k.key), &k.request).await,
            None => work.claim_key(scope, None, &()).await,
        }
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
