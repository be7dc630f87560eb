//! Contracts between MCF's bounded contexts: the event envelope and every published event.
//!
//! This crate is deliberately light (serde, schemars, uuid, chrono only) so that every
//! service can depend on it without pulling in storage or HTTP. Each event type carries its
//! wire name and schema version; the JSON Schemas generated from these types are committed
//! under `schemas/`, and a test fails when a published version changes incompatibly.

mod envelope;
pub mod matching;
pub mod ordering;

pub use envelope::{DecodeError, Envelope, Event};

/// Every event type published by any context, as `(type, version, schema)`.
///
/// Used to generate and check the committed JSON Schemas.
pub fn published_schemas() -> Vec<(&'static str, u32, schemars::Schema)> {
    fn entry<E: Event>() -> (&'static str, u32, schemars::Schema) {
        (E::TYPE, E::VERSION, schemars::schema_for!(E))
    }
    vec![
        entry::<ordering::OrderRequested>(),
        entry::<ordering::OrderActivated>(),
        entry::<matching::WorkerAssigned>(),
    ]
}
