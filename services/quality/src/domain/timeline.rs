//! An order's timeline and its file: what each heard event says about which order, and the
//! file folded from an order's entries alone. Folding depends only on the set of entries
//! (never on the order they arrived in), so a projection rebuilt from the streams equals
//! the live one. Pure: no I/O.

use chrono::{DateTime, Utc};
use contracts::billing::{ClientCharged, WorkerCredited, WorkerPenalized};
use contracts::inventory::{IssuedItem, KitAssembled, KitIssued, KitItem};
use contracts::matching::{StepScore, WorkerAssigned};
use contracts::ordering::{
    OrderActivated, OrderCanceled, OrderCompleted, OrderFailed, OrderRequested, OrderStarted,
};
use contracts::{AccountId, Envelope, Event, KitId, Money, OrderId, ServiceTypeId, WorkerId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An event Quality keeps, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    Requested(OrderRequested),
    Assigned(WorkerAssigned),
    Activated(OrderActivated),
    Started(OrderStarted),
    Completed(OrderCompleted),
    Canceled(OrderCanceled),
    Failed(OrderFailed),
    KitAssembled(KitAssembled),
    KitIssued(KitIssued),
    ClientCharged(ClientCharged),
    WorkerCredited(WorkerCredited),
    WorkerPenalized(WorkerPenalized),
}

/// Every event type Quality's timeline is made of, by producing context.
pub const HEARD: &[(&str, &[&str])] = &[
    (
        OrderRequested::SOURCE,
        &[
            OrderRequested::TYPE,
            OrderActivated::TYPE,
            OrderStarted::TYPE,
            OrderCompleted::TYPE,
            OrderCanceled::TYPE,
            OrderFailed::TYPE,
        ],
    ),
    (WorkerAssigned::SOURCE, &[WorkerAssigned::TYPE]),
    (KitIssued::SOURCE, &[KitAssembled::TYPE, KitIssued::TYPE]),
    (
        ClientCharged::SOURCE,
        &[
            ClientCharged::TYPE,
            WorkerCredited::TYPE,
            WorkerPenalized::TYPE,
        ],
    ),
];

fn data<E: Event>(value: &serde_json::Value) -> Result<E, serde_json::Error> {
    serde_json::from_value(value.clone())
}

impl Fact {
    /// The fact an event of `event_type` with `value` as its data states; `Ok(None)` for a
    /// type the timeline does not keep.
    pub fn decode(
        event_type: &str,
        value: &serde_json::Value,
    ) -> Result<Option<Fact>, serde_json::Error> {
        Ok(Some(match event_type {
            OrderRequested::TYPE => Fact::Requested(data(value)?),
            WorkerAssigned::TYPE => Fact::Assigned(data(value)?),
            OrderActivated::TYPE => Fact::Activated(data(value)?),
            OrderStarted::TYPE => Fact::Started(data(value)?),
            OrderCompleted::TYPE => Fact::Completed(data(value)?),
            OrderCanceled::TYPE => Fact::Canceled(data(value)?),
            OrderFailed::TYPE => Fact::Failed(data(value)?),
            KitAssembled::TYPE => Fact::KitAssembled(data(value)?),
            KitIssued::TYPE => Fact::KitIssued(data(value)?),
            ClientCharged::TYPE => Fact::ClientCharged(data(value)?),
            WorkerCredited::TYPE => Fact::WorkerCredited(data(value)?),
            WorkerPenalized::TYPE => Fact::WorkerPenalized(data(value)?),
            _ => return Ok(None),
        }))
    }

    /// The order the fact is about.
    pub fn order_id(&self) -> OrderId {
        match self {
            Fact::Requested(e) => e.order_id,
            Fact::Assigned(e) => e.order_id,
            Fact::Activated(e) => e.order_id,
            Fact::Started(e) => e.order.order_id,
            Fact::Completed(e) => e.order.order_id,
            Fact::Canceled(e) => e.order.order_id,
            Fact::Failed(e) => e.order.order_id,
            Fact::KitAssembled(e) => e.order_id,
            Fact::KitIssued(e) => e.order_id,
            Fact::ClientCharged(e) => e.order_id,
            Fact::WorkerCredited(e) => e.order_id,
            Fact::WorkerPenalized(e) => e.order_id,
        }
    }

    /// When it happened: the business time the event carries, else when it was published.
    fn at(&self, published: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Fact::Started(e) => e.checked_in_at,
            Fact::Completed(e) => e.completed_at,
            Fact::Canceled(e) => e.canceled_at,
            Fact::Failed(e) => e.failed_at,
            Fact::KitAssembled(e) => e.assembled_at,
            Fact::KitIssued(e) => e.issued_at,
            Fact::ClientCharged(e) => e.booked_at,
            Fact::WorkerCredited(e) => e.booked_at,
            Fact::WorkerPenalized(e) => e.booked_at,
            Fact::Requested(_) | Fact::Assigned(_) | Fact::Activated(_) => published,
        }
    }

    /// Who did it: an account, or the context that decided (`matching`, `ordering`).
    fn actor(&self) -> String {
        match self {
            Fact::Requested(e) => e.client_id.to_string(),
            Fact::Assigned(_) => "matching".into(),
            Fact::Activated(_) | Fact::Failed(_) => "ordering".into(),
            Fact::KitAssembled(_) => "inventory".into(),
            Fact::ClientCharged(_) | Fact::WorkerCredited(_) | Fact::WorkerPenalized(_) => {
                "billing".into()
            }
            Fact::Started(e) => worker_or_ordering(e.order.worker_id),
            Fact::Completed(e) => worker_or_ordering(e.order.worker_id),
            Fact::Canceled(e) => e.canceled_by.to_string(),
            Fact::KitIssued(e) => e.issued_by.to_string(),
        }
    }

    /// One line for people.
    fn summary(&self) -> String {
        match self {
            Fact::Requested(e) => match e.rebook_of {
                Some(original) => format!(
                    "requested {} (a rebooking of {original})",
                    e.service_type_name
                ),
                None => format!("requested {}", e.service_type_name),
            },
            Fact::Assigned(e) => format!(
                "Matching picked worker {} at {} out of {} candidates{}",
                e.worker_id,
                e.price,
                e.candidates,
                if e.fallback {
                    " (fallback: every worker was filtered out)"
                } else {
                    ""
                }
            ),
            Fact::Activated(e) => format!("active with worker {} at {}", e.worker_id, e.price),
            Fact::Started(_) => "the worker checked in on site with a photo".into(),
            Fact::Completed(_) => "completed with the signed report's photo".into(),
            Fact::Canceled(e) => match &e.reason {
                Some(reason) => format!("canceled while {}: {reason}", e.from_status),
                None => format!("canceled while {}", e.from_status),
            },
            Fact::Failed(e) => format!(
                "failed: {}{}",
                e.reason,
                if e.worker_at_fault() {
                    " (the worker's fault)"
                } else {
                    ""
                }
            ),
            Fact::KitAssembled(e) => format!(
                "supply kit {} assembled ({} lines) in the care of {}: {}",
                e.kit_id,
                e.items.len(),
                e.responsible_id
                    .map_or_else(|| "nobody".to_owned(), |a| a.to_string()),
                e.responsible_reason
            ),
            Fact::KitIssued(e) => {
                format!("supply kit {} issued ({} lines)", e.kit_id, e.items.len())
            }
            Fact::ClientCharged(e) => format!(
                "client charged {} ({} less a {}% loyalty discount)",
                e.amount, e.price, e.discount_percent
            ),
            Fact::WorkerCredited(e) => {
                format!(
                    "worker credited {} of the price {}",
                    e.amount, e.order_price
                )
            }
            Fact::WorkerPenalized(e) => {
                format!("worker penalized {} ({})", e.amount, e.failure_reason)
            }
        }
    }
}

fn worker_or_ordering(worker: Option<WorkerId>) -> String {
    worker.map_or_else(|| "ordering".into(), |w| w.to_string())
}

/// One row of an order's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Entry {
    pub order_id: OrderId,
    /// The event's id (one event may be an entry of two orders: a rebooked copy's request
    /// is also on the original's timeline).
    pub event_id: Uuid,
    pub event_type: String,
    /// Business time of what happened.
    pub at: DateTime<Utc>,
    /// Who did it: an account id, or the deciding context (`matching`, `ordering`).
    pub actor: Option<String>,
    pub summary: String,
    /// The event's data as published.
    pub data: serde_json::Value,
}

/// The timeline entries `event` makes: none for a type the timeline does not keep, one
/// for the order it is about, and one more on the original of a rebooked copy.
pub fn entries_of(event: &Envelope) -> Result<Vec<Entry>, serde_json::Error> {
    let Some(fact) = Fact::decode(&event.event_type, &event.data)? else {
        return Ok(Vec::new());
    };
    let entry = Entry {
        order_id: fact.order_id(),
        event_id: event.id,
        event_type: event.event_type.clone(),
        at: fact.at(event.time),
        actor: Some(fact.actor()),
        summary: fact.summary(),
        data: event.data.clone(),
    };
    let mut entries = vec![entry.clone()];
    if let Fact::Requested(OrderRequested {
        rebook_of: Some(original),
        order_id,
        ..
    }) = fact
    {
        entries.push(Entry {
            order_id: original,
            summary: format!("rebooked by the client as order {order_id}"),
            ..entry
        });
    }
    Ok(entries)
}

/// Where an order is, as Quality heard it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Only other contexts' events heard so far (Ordering's are on their way).
    Unknown,
    Requested,
    Active,
    InProgress,
    Completed,
    Canceled,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Requested => "requested",
            Status::Active => "active",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Canceled => "canceled",
            Status::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Unknown,
            Status::Requested,
            Status::Active,
            Status::InProgress,
            Status::Completed,
            Status::Canceled,
            Status::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// An order's life ends in one of these.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Completed | Status::Canceled | Status::Failed)
    }
}

/// Why Matching picked the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Explanation {
    pub worker_id: WorkerId,
    pub price: Money,
    /// Every worker was filtered out and the documented fallback picked this one.
    pub fallback: bool,
    pub candidates: i64,
    /// Each pipeline step's verdict on the chosen worker, in pipeline order.
    pub steps: Vec<StepScore>,
}

/// The order's supply kit: assembled (what goes in, who is responsible and why), then
/// issued (by whom, when, what left stock).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KitStory {
    pub kit_id: KitId,
    pub assembled_at: Option<DateTime<Utc>>,
    /// The supply employee responsible for handing it out (`None`: nobody known).
    pub responsible_id: Option<AccountId>,
    pub responsible_reason: Option<String>,
    /// What goes in, as assembled.
    pub items: Vec<KitItem>,
    pub issued_by: Option<AccountId>,
    pub issued_at: Option<DateTime<Utc>>,
    /// What left stock when it was issued.
    pub issued: Vec<IssuedItem>,
}

impl KitStory {
    fn new(kit_id: KitId) -> KitStory {
        KitStory {
            kit_id,
            assembled_at: None,
            responsible_id: None,
            responsible_reason: None,
            items: Vec::new(),
            issued_by: None,
            issued_at: None,
            issued: Vec::new(),
        }
    }
}

/// What a money line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MoneyKind {
    /// The client was charged for the order (when it became active).
    ClientCharged,
    /// The worker earned a share of it (when it was completed).
    WorkerCredited,
    /// The worker was fined for it (failed by his fault).
    WorkerPenalized,
}

/// Money Billing booked for the order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MoneyLine {
    pub kind: MoneyKind,
    /// Billing's ledger entry.
    pub entry_id: String,
    /// The client's or the worker's id.
    pub holder: String,
    pub amount: Money,
    pub booked_at: DateTime<Utc>,
}

impl MoneyLine {
    fn new(
        kind: MoneyKind,
        entry_id: String,
        holder: String,
        amount: Money,
        booked_at: DateTime<Utc>,
    ) -> MoneyLine {
        MoneyLine {
            kind,
            entry_id,
            holder,
            amount,
            booked_at,
        }
    }
}

/// Who canceled, when and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Cancellation {
    pub by: AccountId,
    pub at: DateTime<Utc>,
    pub from_status: String,
    pub reason: Option<String>,
}

/// Why the order failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Failure {
    /// `no_show`, `not_matched`, `kit_not_ready`.
    pub reason: String,
    pub worker_at_fault: bool,
    pub deadline: DateTime<Utc>,
    pub at: DateTime<Utc>,
    pub from_status: String,
}

/// Everything Quality knows about one order, folded from its timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderFile {
    pub order_id: OrderId,
    pub status: Status,
    pub client_id: Option<AccountId>,
    pub client_name: Option<String>,
    pub worker_id: Option<WorkerId>,
    pub worker_name: Option<String>,
    pub service_type_id: Option<ServiceTypeId>,
    pub service_type_name: Option<String>,
    pub description: Option<String>,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The service type's approximate price when requested.
    pub base_price: Option<Money>,
    /// The price the client pays, once Matching set it.
    pub price: Option<Money>,
    /// Why this worker was picked (Matching's explanation).
    pub explanation: Option<Explanation>,
    /// The supply kit, once issued.
    pub kit: Option<KitStory>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The photos Ordering keeps for it (`check-in`, `report`), readable through
    /// `GET /orders/{id}/photos/{kind}`.
    pub photos: Vec<String>,
    pub cancellation: Option<Cancellation>,
    pub failure: Option<Failure>,
    /// The failed order this one is a copy of.
    pub rebook_of: Option<OrderId>,
    /// The copies the client rebooked this one as.
    pub rebooked_as: Vec<OrderId>,
    /// What Billing booked for it, in booking order.
    pub money: Vec<MoneyLine>,
}

impl OrderFile {
    /// The file of `order_id` from its timeline entries, in any order.
    pub fn fold(order_id: OrderId, entries: &[Entry]) -> OrderFile {
        let mut sorted: Vec<&Entry> = entries.iter().filter(|e| e.order_id == order_id).collect();
        sorted.sort_by_key(|e| (e.at, e.event_id));
        let mut file = OrderFile {
            order_id,
            status: Status::Unknown,
            client_id: None,
            client_name: None,
            worker_id: None,
            worker_name: None,
            service_type_id: None,
            service_type_name: None,
            description: None,
            scheduled_at: None,
            base_price: None,
            price: None,
            explanation: None,
            kit: None,
            checked_in_at: None,
            completed_at: None,
            photos: Vec::new(),
            cancellation: None,
            failure: None,
            rebook_of: None,
            rebooked_as: Vec::new(),
            money: Vec::new(),
        };
        for entry in sorted {
            // Entries were decoded when they were recorded; one that no longer decodes
            // (it cannot: the type is kept) adds nothing rather than failing the file.
            if let Ok(Some(fact)) = Fact::decode(&entry.event_type, &entry.data) {
                file.apply(fact);
            }
        }
        file.photos.sort();
        file.photos.dedup();
        file.rebooked_as.sort();
        file.rebooked_as.dedup();
        file
    }

    fn advance(&mut self, status: Status) {
        // Final states outrank the rest, whatever order the events came in.
        self.status = self.status.max(status);
    }

    fn facts(&mut self, facts: &contracts::ordering::OrderFacts) {
        self.client_id = Some(facts.client_id);
        self.worker_id = facts.worker_id.or(self.worker_id);
        self.price = facts.price.or(self.price);
        self.service_type_id = Some(facts.service_type_id);
        self.service_type_name = Some(facts.service_type_name.clone());
        self.scheduled_at = Some(facts.scheduled_at);
        self.rebook_of = facts.rebook_of.or(self.rebook_of);
    }

    fn apply(&mut self, fact: Fact) {
        match fact {
            Fact::Requested(e) if e.order_id != self.order_id => {
                self.rebooked_as.push(e.order_id);
            }
            Fact::Requested(e) => {
                self.advance(Status::Requested);
                self.client_id = Some(e.client_id);
                self.service_type_id = Some(e.service_type_id);
                self.service_type_name = Some(e.service_type_name);
                self.description = Some(e.description);
                self.scheduled_at = Some(e.scheduled_at);
                self.base_price = Some(e.base_price);
                self.rebook_of = e.rebook_of;
            }
            Fact::Assigned(e) => {
                self.explanation = Some(Explanation {
                    worker_id: e.worker_id,
                    price: e.price,
                    fallback: e.fallback,
                    candidates: e.candidates,
                    steps: e.explanation,
                });
            }
            Fact::Activated(e) => {
                self.advance(Status::Active);
                self.client_id = Some(e.client_id);
                self.worker_id = Some(e.worker_id);
                self.price = Some(e.price);
                self.service_type_id = Some(e.service_type_id);
                self.scheduled_at = Some(e.scheduled_at);
                self.client_name = e.client_name.or(self.client_name.take());
                self.worker_name = e.worker_name.or(self.worker_name.take());
                if !e.description.is_empty() {
                    self.description = Some(e.description);
                }
            }
            Fact::Started(e) => {
                self.advance(Status::InProgress);
                self.facts(&e.order);
                self.checked_in_at = Some(e.checked_in_at);
                self.photos.push("check-in".into());
            }
            Fact::Completed(e) => {
                self.advance(Status::Completed);
                self.facts(&e.order);
                self.checked_in_at = Some(e.checked_in_at);
                self.completed_at = Some(e.completed_at);
                self.photos.push("check-in".into());
                self.photos.push("report".into());
            }
            Fact::Canceled(e) => {
                self.advance(Status::Canceled);
                self.facts(&e.order);
                self.cancellation = Some(Cancellation {
                    by: e.canceled_by,
                    at: e.canceled_at,
                    from_status: e.from_status,
                    reason: e.reason,
                });
            }
            Fact::Failed(e) => {
                self.advance(Status::Failed);
                self.facts(&e.order);
                self.failure = Some(Failure {
                    worker_at_fault: e.worker_at_fault(),
                    reason: e.reason,
                    deadline: e.deadline,
                    at: e.failed_at,
                    from_status: e.from_status,
                });
            }
            Fact::KitAssembled(e) => {
                let kit = self.kit.get_or_insert_with(|| KitStory::new(e.kit_id));
                kit.assembled_at = Some(e.assembled_at);
                kit.responsible_id = e.responsible_id;
                kit.responsible_reason = Some(e.responsible_reason);
                kit.items = e.items;
            }
            Fact::ClientCharged(e) => self.money.push(MoneyLine::new(
                MoneyKind::ClientCharged,
                e.entry_id,
                e.client_id.to_string(),
                e.amount,
                e.booked_at,
            )),
            Fact::WorkerCredited(e) => self.money.push(MoneyLine::new(
                MoneyKind::WorkerCredited,
                e.entry_id,
                e.worker_id.to_string(),
                e.amount,
                e.booked_at,
            )),
            Fact::WorkerPenalized(e) => self.money.push(MoneyLine::new(
                MoneyKind::WorkerPenalized,
                e.entry_id,
                e.worker_id.to_string(),
                e.amount,
                e.booked_at,
            )),
            Fact::KitIssued(e) => {
                let kit = self.kit.get_or_insert_with(|| KitStory::new(e.kit_id));
                kit.issued_by = Some(e.issued_by);
                kit.issued_at = Some(e.issued_at);
                kit.issued = e.items;
            }
        }
    }

    /// Why the order enters the review queue by itself (failed or canceled), with when.
    pub fn queue_reason(&self) -> Option<(QueueReason, DateTime<Utc>)> {
        match (&self.failure, &self.cancellation) {
            (Some(f), _) if self.status == Status::Failed => Some((QueueReason::Failed, f.at)),
            (_, Some(c)) if self.status == Status::Canceled => Some((QueueReason::Canceled, c.at)),
            _ => None,
        }
    }
}

/// Why an order is in the review queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueReason {
    Failed,
    Canceled,
    /// Drawn by a random sample of completed orders.
    Sampled,
}

impl QueueReason {
    pub fn as_str(self) -> &'static str {
        match self {
            QueueReason::Failed => "failed",
            QueueReason::Canceled => "canceled",
            QueueReason::Sampled => "sampled",
        }
    }

    pub fn parse(s: &str) -> Option<QueueReason> {
        [
            QueueReason::Failed,
            QueueReason::Canceled,
            QueueReason::Sampled,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use contracts::ordering::OrderFacts;

    use super::*;

    fn t0() -> DateTime<Utc> {
        "2026-11-30T10:00:00Z".parse().unwrap()
    }

    fn requested(order: OrderId, client: AccountId) -> OrderRequested {
        OrderRequested {
            order_id: order,
            client_id: client,
            service_type_id: ServiceTypeId::new(),
            service_type_name: "Cleaning".into(),
            skill: "cleaning".into(),
            description: "Kitchen".into(),
            scheduled_at: t0() + Duration::hours(2),
            duration_minutes: 60,
            base_price: Money::from_minor(120),
            rebook_of: None,
            excluded_workers: vec![],
        }
    }

    fn facts(r: &OrderRequested, worker: WorkerId) -> OrderFacts {
        OrderFacts {
            order_id: r.order_id,
            client_id: r.client_id,
            worker_id: Some(worker),
            price: Some(Money::from_minor(100)),
            service_type_id: r.service_type_id,
            service_type_name: r.service_type_name.clone(),
            scheduled_at: r.scheduled_at,
            duration_minutes: 60,
            rebook_of: None,
        }
    }

    fn assigned(order: OrderId, worker: WorkerId) -> WorkerAssigned {
        WorkerAssigned {
            order_id: order,
            worker_id: worker,
            price: Money::from_minor(100),
            fallback: false,
            candidates: 3,
            explanation: vec![StepScore {
                step: "skill".into(),
                kind: "score".into(),
                passed: true,
                score: 0.9,
                weight: 1.0,
                note: None,
            }],
        }
    }

    fn failed(r: &OrderRequested, worker: WorkerId) -> OrderFailed {
        OrderFailed {
            order: facts(r, worker),
            from_status: "active".into(),
            reason: "no_show".into(),
            worker_at_fault: Some(true),
            deadline: r.scheduled_at + Duration::minutes(30),
            failed_at: r.scheduled_at + Duration::minutes(31),
        }
    }

    fn entries<E: Event>(event: &E, at: DateTime<Utc>) -> Vec<Entry> {
        let mut envelope = Envelope::new(event, 1, None);
        envelope.time = at;
        entries_of(&envelope).unwrap()
    }

    #[test]
    fn given_a_failed_order_heard_in_any_order_then_its_file_is_the_same_and_it_enters_the_queue() {
        // Given an order requested, assigned (with Matching's explanation), failed as a no-show
        // and its worker penalized, and the same events heard the other way round
        let (order, client, worker) = (OrderId::new(), AccountId::new(), WorkerId::new());
        let r = requested(order, client);
        let mut heard = entries(&r, t0());
        heard.extend(entries(
            &assigned(order, worker),
            t0() + Duration::seconds(1),
        ));
        heard.extend(entries(&failed(&r, worker), t0()));
        let penalty = WorkerPenalized {
            entry_id: format!("worker_penalty:{order}"),
            order_id: order,
            worker_id: worker,
            amount: Money::from_minor(50),
            failure_reason: "no_show".into(),
            booked_at: t0() + Duration::hours(3),
        };
        heard.extend(entries(&penalty, t0()));
        let mut reversed = heard.clone();
        reversed.reverse();

        // When the file is folded from each
        let file = OrderFile::fold(order, &heard);

        // Then both give the same file: failed, the worker blamed, why he was picked
        assert_eq!(file, OrderFile::fold(order, &reversed));
        assert_eq!(file.status, Status::Failed);
        assert_eq!(file.worker_id, Some(worker));
        assert!(file.failure.as_ref().unwrap().worker_at_fault);
        assert_eq!(file.explanation.as_ref().unwrap().steps[0].step, "skill");
        // And the money shows the worker's penalty
        assert_eq!(file.money.len(), 1);
        assert_eq!(
            (file.money[0].kind, file.money[0].amount),
            (MoneyKind::WorkerPenalized, Money::from_minor(50))
        );
        // And it enters the review queue as failed, at the failure's time
        let (reason, at) = file.queue_reason().unwrap();
        assert_eq!(
            (reason, at),
            (QueueReason::Failed, r.scheduled_at + Duration::minutes(31))
        );
    }

    #[test]
    fn given_a_rebooked_copy_then_it_is_on_both_timelines() {
        // Given the copy of a failed order
        let (original, copy) = (OrderId::new(), OrderId::new());
        let mut r = requested(copy, AccountId::new());
        r.rebook_of = Some(original);

        // When its request is heard
        let made = entries(&r, t0());

        // Then the copy's timeline and the original's both have it
        assert_eq!(made.len(), 2);
        assert_eq!(made[0].order_id, copy);
        assert_eq!(made[1].order_id, original);
        assert_eq!(made[0].event_id, made[1].event_id);
        // And the original's file names the copy, the copy's its original
        assert_eq!(OrderFile::fold(original, &made).rebooked_as, vec![copy]);
        let copy_file = OrderFile::fold(copy, &made);
        assert_eq!(
            (copy_file.rebook_of, copy_file.status),
            (Some(original), Status::Requested)
        );
    }

    #[test]
    fn given_a_completed_order_with_its_kit_then_the_file_has_photos_and_the_kit_and_no_queue() {
        // Given an order completed after its kit was issued
        let (order, worker) = (OrderId::new(), WorkerId::new());
        let r = requested(order, AccountId::new());
        let kit = KitIssued {
            kit_id: KitId::new(),
            order_id: order,
            issued_by: AccountId::new(),
            issued_at: t0(),
            items: vec![],
        };
        let done = OrderCompleted {
            order: facts(&r, worker),
            checked_in_at: r.scheduled_at,
            completed_at: r.scheduled_at + Duration::hours(1),
            report_photo: "orders/x/report".into(),
        };
        let assembled = KitAssembled {
            kit_id: kit.kit_id,
            order_id: order,
            assembled_at: t0(),
            responsible_id: None,
            responsible_reason: "no active supply staff".into(),
            items: vec![],
        };
        let mut heard = entries(&r, t0());
        heard.extend(entries(&kit, t0()));
        heard.extend(entries(&done, t0()));
        heard.extend(entries(&assembled, t0()));

        // When folded
        let file = OrderFile::fold(order, &heard);

        // Then it is completed with both photos and the kit, and does not queue by itself
        assert_eq!(file.status, Status::Completed);
        assert_eq!(
            file.photos,
            vec!["check-in".to_owned(), "report".to_owned()]
        );
        let story = file.kit.clone().unwrap();
        assert_eq!(story.kit_id, kit.kit_id);
        assert_eq!(story.issued_at, Some(t0()));
        assert_eq!(
            story.responsible_reason.as_deref(),
            Some("no active supply staff")
        );
        assert!(OrderFile::fold(order, &heard).queue_reason().is_none());
    }

    #[test]
    fn given_an_event_of_another_kind_then_it_makes_no_entry() {
        // Given an event the timeline does not keep / When read / Then nothing
        let mail = contracts::ordering::MailRequested {
            order_id: OrderId::new(),
            request: contracts::iam::MailRequest {
                to: "a@b.c".into(),
                template: "t".into(),
                variables: Default::default(),
                idempotency_key: "k".into(),
                language: None,
            },
        };
        assert!(entries(&mail, t0()).is_empty());
    }
}
