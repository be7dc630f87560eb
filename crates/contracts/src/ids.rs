//! Typed ids of MCF's entities, shared by every context and carried by the events.
//!
//! Each id is a UUID (v7 when MCF makes it, so ids sort by creation time) in a newtype of
//! its own, so an order id cannot be passed where a worker id is expected. On the wire an id
//! is the hyphenated UUID string, exactly as the plain `Uuid` and `String` fields it replaced
//! were, and its JSON Schema is the one those fields published (see [`AccountId`] for the
//! one that differs), so typing the events changed neither their JSON nor their schemas.
//!
//! Stores keep ids as TEXT: bind `id.to_string()` (or `String::from(id)`) and read back with
//! `str::parse`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A text that is not an id of the expected kind (ids are hyphenated UUIDs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} (expected a hyphenated UUID)")]
pub struct ParseIdError {
    /// The id type that was expected, e.g. `OrderId`.
    pub kind: &'static str,
}

/// Parses the hyphenated form only (36 characters; any case), the one `Display` writes, so
/// a parsed id prints back as the text it was read from (up to case) and a store lookup by
/// `to_string()` finds what was stored under that text.
fn parse_hyphenated(s: &str, kind: &'static str) -> Result<Uuid, ParseIdError> {
    if s.len() != 36 {
        return Err(ParseIdError { kind });
    }
    Uuid::try_parse(s).map_err(|_| ParseIdError { kind })
}

/// How an id type's JSON Schema reads.
macro_rules! id_schema {
    // A UUID string: `{"type": "string", "format": "uuid"}`, as `uuid::Uuid` published.
    (uuid, $generator:ident) => {
        <Uuid as JsonSchema>::json_schema($generator)
    };
    // A plain string: `{"type": "string"}`, as the `String` fields it replaced published.
    (string, $generator:ident) => {{
        let _ = $generator;
        json_schema!({ "type": "string" })
    }};
}

/// Declares an id newtype over `Uuid` with its conversions, serde and schema.
macro_rules! id {
    ($(#[$meta:meta])* $name:ident, schema = $schema:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id: a UUIDv7, so ids sort by creation time.
            #[allow(
                clippy::new_without_default,
                reason = "a new id is a fresh random value, not a default one"
            )]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The id with this UUID.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            /// Parses the hyphenated UUID form (what `Display` writes).
            pub fn parse(s: &str) -> Result<Self, ParseIdError> {
                parse_hyphenated(s, stringify!($name)).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }

        impl JsonSchema for $name {
            // Inlined, so a field of this type has the same schema as the `Uuid` or
            // `String` field it replaced, with no `$defs` entry.
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn schema_id() -> Cow<'static, str> {
                concat!("contracts::ids::", stringify!($name)).into()
            }

            fn json_schema(generator: &mut SchemaGenerator) -> Schema {
                id_schema!($schema, generator)
            }
        }
    };
}

id!(
    /// An IAM account: anyone who signs in (client, manager, admin, supply, a worker's own
    /// account) and service accounts. IAM makes every account id a UUIDv7 (admins, the
    /// bootstrap admin, federated first sign-ins, service accounts) except a hired worker's,
    /// which is the worker id Hiring chose, also a UUID.
    ///
    /// Its schema is a plain `string` (no `format`), unlike the other ids: the events
    /// published `account_id`, `client_id` and `canceled_by` as strings before they were
    /// typed, and a published schema may not change (the contracts' compatibility check).
    /// The values on the wire were always UUIDs.
    AccountId,
    schema = string
);

id!(
    /// A worker: someone Hiring hired, whom Matching assigns and Ordering sends to jobs.
    ///
    /// A worker's id is the id of the worker's own IAM account (issue 10), yet it is a type
    /// of its own: most accounts are not workers (clients, staff, services), so a function
    /// that takes a worker cannot be handed a client's id by mistake. Where an account acts
    /// as a worker (a signed-in worker checking in, IAM opening the account of a hire), the
    /// conversion is written out with `WorkerId::from(account_id)` or
    /// `AccountId::from(worker_id)`, next to the role check that makes it true.
    WorkerId,
    schema = uuid
);

id!(
    /// An order (Ordering's aggregate; Matching's reference sample has the same id).
    OrderId,
    schema = uuid
);

id!(
    /// A service type Ordering offers (cleaning, ...).
    ServiceTypeId,
    schema = uuid
);

id!(
    /// A candidate's application to Hiring.
    ApplicationId,
    schema = uuid
);

id!(
    /// One of Hiring's tests that candidates take.
    TestId,
    schema = uuid
);

id!(
    /// A manual adjustment of a worker's skill levels in Matching.
    AdjustmentId,
    schema = uuid
);

id!(
    /// A message Mail keeps and delivers.
    MessageId,
    schema = uuid
);

id!(
    /// A manager's stake in a bet (Bets'); Billing charges it with this id as its key.
    StakeId,
    schema = uuid
);

id!(
    /// One payout of a settled bet (a winner's share, or an unwon pool to the developers'
    /// fund); Billing books it with this id as its key.
    PayoutId,
    schema = uuid
);

id!(
    /// A supply kit Inventory assembles for an active order.
    KitId,
    schema = uuid
);

id!(
    /// A consumable Inventory keeps in stock (gloves, sponges, ...).
    ConsumableId,
    schema = uuid
);

id!(
    /// A manager's award to a worker, booked by Billing.
    AwardId,
    schema = uuid
);

id!(
    /// A bet managers place on an order's outcome (Bets'); Billing books its stakes,
    /// winnings and unwon pool under it.
    BetId,
    schema = uuid
);

impl From<AccountId> for WorkerId {
    /// The worker whose own account this is (a worker's id is its account's id).
    fn from(id: AccountId) -> WorkerId {
        WorkerId(id.0)
    }
}

impl From<WorkerId> for AccountId {
    /// The worker's own account.
    fn from(id: WorkerId) -> AccountId {
        AccountId(id.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_an_id_when_serialized_then_it_is_the_hyphenated_uuid_string_and_reads_back() {
        let uuid = Uuid::now_v7();
        let id = OrderId::from_uuid(uuid);
        let json = serde_json::to_value(id).unwrap();
        assert_eq!(json, serde_json::Value::String(uuid.to_string()));
        assert_eq!(serde_json::from_value::<OrderId>(json).unwrap(), id);
        assert_eq!(id.to_string(), uuid.hyphenated().to_string());
        assert_eq!(id.to_string().parse::<OrderId>().unwrap(), id);
        assert_eq!(String::from(id), uuid.to_string());
        assert_eq!(Uuid::from(id), uuid);
        assert_eq!(*id.as_uuid(), uuid);
    }

    #[test]
    fn given_text_that_is_not_a_hyphenated_uuid_when_parsed_then_it_is_refused_naming_the_kind() {
        let uuid = Uuid::now_v7();
        for bad in [
            String::new(),
            "account-1".to_owned(),
            uuid.simple().to_string(),
            uuid.braced().to_string(),
            uuid.urn().to_string(),
            format!("{uuid}x"),
            "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz".to_owned(),
        ] {
            assert_eq!(
                bad.parse::<AccountId>(),
                Err(ParseIdError { kind: "AccountId" }),
                "{bad}"
            );
        }
        // Upper case is the same UUID.
        let upper = uuid.to_string().to_uppercase();
        assert_eq!(
            AccountId::parse(&upper).unwrap(),
            AccountId::from_uuid(uuid)
        );
        assert_eq!(
            ParseIdError { kind: "OrderId" }.to_string(),
            "not a valid OrderId (expected a hyphenated UUID)"
        );
    }

    #[test]
    fn given_new_ids_when_made_one_after_the_other_then_they_are_v7_and_sort_by_time() {
        let (a, b) = (OrderId::new(), OrderId::new());
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a < b);
    }

    #[test]
    fn given_a_worker_when_converted_to_its_account_and_back_then_the_uuid_is_the_same() {
        let worker = WorkerId::new();
        let account = AccountId::from(worker);
        assert_eq!(account.as_uuid(), worker.as_uuid());
        assert_eq!(WorkerId::from(account), worker);
    }

    #[test]
    fn given_id_fields_when_schemas_are_generated_then_they_match_the_fields_they_replaced() {
        #[derive(JsonSchema)]
        #[allow(dead_code, reason = "only the schema is read")]
        struct Typed {
            order: OrderId,
            worker: Option<WorkerId>,
            excluded: Vec<WorkerId>,
            account: AccountId,
        }
        #[derive(JsonSchema)]
        #[allow(dead_code, reason = "only the schema is read")]
        struct Plain {
            order: Uuid,
            worker: Option<Uuid>,
            excluded: Vec<Uuid>,
            account: String,
        }
        let mut typed = serde_json::to_value(schemars::schema_for!(Typed)).unwrap();
        let plain = serde_json::to_value(schemars::schema_for!(Plain)).unwrap();
        typed["title"] = plain["title"].clone();
        assert_eq!(typed, plain);
    }
}
