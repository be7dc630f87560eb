//! Contracts between MCF's bounded contexts: the event envelope and every published event.
//!
//! This crate is deliberately light (serde, schemars, uuid, chrono only) so that every
//! service can depend on it without pulling in storage or HTTP. Each event type carries its
//! wire name and schema version; the JSON Schemas generated from these types are committed
//! under `schemas/`, and a test fails when a published version changes incompatibly.
//!
//! The events carry typed ids ([`ids`]) and [`Money`]; both keep the JSON and the schema of
//! the plain `Uuid`, `String` and `i64` fields they replaced.

pub mod bets;
pub mod billing;
pub mod compat;
mod envelope;
pub mod hiring;
pub mod iam;
pub mod ids;
pub mod inventory;
pub mod language;
pub mod matching;
mod money;
pub mod ordering;

pub use envelope::{DecodeError, Envelope, Event};
pub use ids::{
    AccountId, AdjustmentId, ApplicationId, AwardId, BetId, ConsumableId, KitId, MessageId,
    OrderId, ParseIdError, PayoutId, ServiceTypeId, StakeId, TestId, WorkerId,
};
pub use money::Money;

/// Every event type published by any context, as `(type, version, schema)`.
///
/// Used to generate and check the committed JSON Schemas.
pub fn published_schemas() -> Vec<(&'static str, u32, schemars::Schema)> {
    fn entry<E: Event>() -> (&'static str, u32, schemars::Schema) {
        (E::TYPE, E::VERSION, schemars::schema_for!(E))
    }
    vec![
        ("envelope", 1, schemars::schema_for!(Envelope)),
        entry::<hiring::WorkerHired>(),
        entry::<hiring::MailRequested>(),
        entry::<iam::AccountCreated>(),
        entry::<iam::AccountChanged>(),
        entry::<iam::MailRequested>(),
        entry::<ordering::OrderRequested>(),
        entry::<ordering::OrderActivated>(),
        entry::<ordering::OrderStarted>(),
        entry::<ordering::OrderCompleted>(),
        entry::<ordering::OrderCanceled>(),
        entry::<ordering::OrderFailed>(),
        entry::<ordering::MailRequested>(),
        entry::<matching::WorkerAssigned>(),
        entry::<inventory::KitAssembled>(),
        entry::<inventory::KitIssued>(),
        entry::<inventory::MailRequested>(),
        entry::<billing::ClientCharged>(),
        entry::<billing::WorkerCredited>(),
        entry::<billing::WorkerPenalized>(),
        entry::<billing::AwardGranted>(),
        entry::<billing::InvoiceIssued>(),
        entry::<billing::InvoicePaid>(),
        entry::<billing::InvoiceFailed>(),
        entry::<billing::PayoutSent>(),
        entry::<billing::MailRequested>(),
        entry::<bets::BetOpened>(),
        entry::<bets::StakePlaced>(),
        entry::<bets::BetSettled>(),
    ]
}

#[cfg(test)]
mod published {
    //! The committed schemas are the published contracts. `UPDATE_SCHEMAS=1 cargo test -p
    //! contracts` writes new ones and compatible updates; a breaking change to a published
    //! version fails whatever the variable says: publish a new version instead.

    use std::path::PathBuf;

    use super::*;

    fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas")
    }

    #[test]
    fn committed_schemas_match_the_code_and_no_published_version_breaks() {
        let update = std::env::var("UPDATE_SCHEMAS").is_ok_and(|v| v == "1");
        let mut problems = Vec::new();
        for (name, version, schema) in published_schemas() {
            let path = dir().join(format!("{name}.v{version}.json"));
            let generated = serde_json::to_value(&schema).unwrap();
            let text = serde_json::to_string_pretty(&generated).unwrap() + "\n";
            match std::fs::read_to_string(&path) {
                Err(_) if update => std::fs::write(&path, text).unwrap(),
                Err(_) => problems.push(format!(
                    "{name} v{version}: no committed schema; run UPDATE_SCHEMAS=1 cargo test -p contracts"
                )),
                Ok(committed) => {
                    let committed: serde_json::Value = serde_json::from_str(&committed).unwrap();
                    let breaking = compat::breaking_changes(&committed, &generated);
                    if !breaking.is_empty() {
                        problems.push(format!(
                            "{name} v{version} is published; breaking changes: {breaking:?}"
                        ));
                    } else if committed != generated {
                        if update {
                            std::fs::write(&path, text).unwrap();
                        } else {
                            problems.push(format!(
                                "{name} v{version}: compatible change not committed; run \
                                 UPDATE_SCHEMAS=1 cargo test -p contracts"
                            ));
                        }
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn committed_examples_still_decode_and_validate() {
        fn check<E: Event>(problems: &mut Vec<String>) {
            let path = dir()
                .join("examples")
                .join(format!("{}.v{}.json", E::TYPE, E::VERSION));
            let Ok(text) = std::fs::read_to_string(&path) else {
                problems.push(format!("missing example {}", path.display()));
                return;
            };
            let envelope: Envelope = match serde_json::from_str(&text) {
                Ok(e) => e,
                Err(e) => return problems.push(format!("{}: {e}", path.display())),
            };
            if let Err(e) = envelope.decode::<E>() {
                problems.push(format!("{}: {e}", path.display()));
            }
            let schema = serde_json::to_value(schemars::schema_for!(E)).unwrap();
            let validator = jsonschema::validator_for(&schema).unwrap();
            if let Err(e) = validator.validate(&envelope.data) {
                problems.push(format!("{}: {e}", path.display()));
            }
        }
        let mut problems = Vec::new();
        check::<hiring::WorkerHired>(&mut problems);
        check::<hiring::MailRequested>(&mut problems);
        check::<iam::AccountCreated>(&mut problems);
        check::<iam::AccountChanged>(&mut problems);
        check::<iam::MailRequested>(&mut problems);
        check::<ordering::OrderRequested>(&mut problems);
        check::<ordering::OrderActivated>(&mut problems);
        check::<ordering::OrderStarted>(&mut problems);
        check::<ordering::OrderCompleted>(&mut problems);
        check::<ordering::OrderCanceled>(&mut problems);
        check::<ordering::OrderFailed>(&mut problems);
        check::<ordering::MailRequested>(&mut problems);
        check::<matching::WorkerAssigned>(&mut problems);
        check::<inventory::KitAssembled>(&mut problems);
        check::<inventory::KitIssued>(&mut problems);
        check::<inventory::MailRequested>(&mut problems);
        check::<billing::ClientCharged>(&mut problems);
        check::<billing::WorkerCredited>(&mut problems);
        check::<billing::WorkerPenalized>(&mut problems);
        check::<billing::AwardGranted>(&mut problems);
        check::<billing::InvoiceIssued>(&mut problems);
        check::<billing::InvoicePaid>(&mut problems);
        check::<billing::InvoiceFailed>(&mut problems);
        check::<billing::PayoutSent>(&mut problems);
        check::<billing::MailRequested>(&mut problems);
        check::<bets::BetOpened>(&mut problems);
        check::<bets::StakePlaced>(&mut problems);
        check::<bets::BetSettled>(&mut problems);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// Account ids are typed ([`AccountId`], a UUID) while the published v1 schemas keep
    /// them as plain strings. Before IAM existed the examples named a client `c1`; since
    /// IAM every account id is a UUID and Ordering takes the client from the verified
    /// token, so no producer sends anything else. A consumer refuses such an event as bad
    /// data (to the dead letters), where the schema alone would let it through.
    #[test]
    fn given_an_order_event_with_a_pre_iam_client_id_when_decoded_then_it_is_bad_data() {
        let path = dir()
            .join("examples")
            .join("ordering.order.requested.v1.json");
        let mut envelope: Envelope =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        envelope.data["client_id"] = "c1".into();
        let schema = serde_json::to_value(schemars::schema_for!(ordering::OrderRequested)).unwrap();
        assert!(jsonschema::is_valid(&schema, &envelope.data));
        assert!(matches!(
            envelope.decode::<ordering::OrderRequested>(),
            Err(DecodeError::BadData(_))
        ));
    }
}
