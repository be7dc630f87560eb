use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

/// A published event: CloudEvents-like metadata around the event's `data`.
///
/// `id` doubles as the outbox row id and the broker's de-duplication id, so a relay that
/// publishes the same row twice cannot create two messages. `aggregate_version` grows by one
/// for each event of the same aggregate, which lets consumers recognise stale or early
/// deliveries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Envelope {
    /// Unique event id (UUIDv7, time-ordered).
    pub id: Uuid,
    /// Event type, `<context>.<aggregate>.<what happened>`, e.g. `ordering.order.activated`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Schema version of `data` for this type.
    pub version: u32,
    /// Producing context, e.g. `ordering`.
    pub source: String,
    /// When the event happened.
    pub time: DateTime<Utc>,
    /// The aggregate the event belongs to (an order id, a worker id, ...).
    pub aggregate_id: String,
    /// Monotonic per aggregate, starting at 1.
    pub aggregate_version: i64,
    /// Shared by every event caused, directly or not, by the same original request.
    pub correlation_id: Uuid,
    /// The event (or request) that directly caused this one.
    pub causation_id: Option<Uuid>,
    /// W3C trace context, so one order can be followed across services.
    pub traceparent: Option<String>,
    /// The event itself.
    pub data: serde_json::Value,
}

/// A published event type: its wire name, schema version and the aggregate it belongs to.
pub trait Event: Serialize + DeserializeOwned + JsonSchema {
    /// Wire name, `<context>.<aggregate>.<what happened>`.
    const TYPE: &'static str;
    /// Schema version of this type's `data`.
    const VERSION: u32;
    /// The producing context (also the bus stream it goes to).
    const SOURCE: &'static str;
    /// The aggregate this event belongs to.
    fn aggregate_id(&self) -> String;
}

/// Why an envelope could not be read as a given event type.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The envelope holds another type or version.
    #[error("expected event {expected} v{version}, found {found} v{found_version}")]
    WrongType {
        expected: &'static str,
        version: u32,
        found: String,
        found_version: u32,
    },
    /// The data does not match the type's schema.
    #[error("event data does not match its schema: {0}")]
    BadData(#[from] serde_json::Error),
}

impl Envelope {
    /// Wraps `event` in a new envelope. `cause` (the envelope being handled, if any) passes
    /// on its correlation id and trace context and becomes the causation.
    pub fn new<E: Event>(event: &E, aggregate_version: i64, cause: Option<&Envelope>) -> Self {
        let id = Uuid::now_v7();
        let (correlation_id, causation_id, traceparent) = match cause {
            Some(c) => (c.correlation_id, Some(c.id), c.traceparent.clone()),
            None => (id, None, Some(new_traceparent(id))),
        };
        Envelope {
            id,
            event_type: E::TYPE.to_owned(),
            version: E::VERSION,
            source: E::SOURCE.to_owned(),
            time: Utc::now(),
            aggregate_id: event.aggregate_id(),
            aggregate_version,
            correlation_id,
            causation_id,
            traceparent,
            data: serde_json::to_value(event).expect("events always serialize"),
        }
    }

    /// Reads the data as `E`, checking type and version first.
    pub fn decode<E: Event>(&self) -> Result<E, DecodeError> {
        if self.event_type != E::TYPE || self.version != E::VERSION {
            return Err(DecodeError::WrongType {
                expected: E::TYPE,
                version: E::VERSION,
                found: self.event_type.clone(),
                found_version: self.version,
            });
        }
        serde_json::from_value(self.data.clone()).map_err(DecodeError::BadData)
    }

    /// True when this envelope holds an event of type `E` (any version).
    pub fn is<E: Event>(&self) -> bool {
        self.event_type == E::TYPE
    }
}

/// A W3C `traceparent` whose trace id is derived from the correlation id.
fn new_traceparent(id: Uuid) -> String {
    let trace = id.simple().to_string();
    let span = &trace[16..];
    format!("00-{trace}-{span}-01")
}
