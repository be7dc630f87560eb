//! The order lifecycle. Every rule about what may happen to an order lives here, pure:
//!
//! ```text
//! requested --assign--> active --check_in--> in_progress --complete--> completed
//!     |                   |
//!     +--cancel-----------+--> canceled        (the client, or staff for them)
//!     +--deadline passed--+--> failed          (automatic: nobody checked in in time)
//! failed --rebook--> a new requested order linked to the original (a different worker)
//! ```
//!
//! Each accepted transition changes the order, adds one to its version and yields exactly
//! one event (and a history entry); a refused one changes nothing.

use chrono::{DateTime, Duration, Utc};
use contracts::ordering::{
    OrderActivated, OrderCanceled, OrderCompleted, OrderFacts, OrderFailed, OrderRequested,
    OrderStarted,
};
use contracts::{AccountId, Envelope, Money, OrderId, ServiceTypeId, WorkerId};
use serde::{Deserialize, Serialize};
use service::Refused;

use super::service_type::ServiceType;
use crate::error::OrderingError;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for Matching to assign a worker.
    Requested,
    /// A worker is assigned and the price set.
    Active,
    /// The worker checked in on site.
    InProgress,
    /// The worker uploaded the signed report.
    Completed,
    /// The client canceled it.
    Canceled,
    /// Nobody checked in by the deadline.
    Failed,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Requested,
        Status::Active,
        Status::InProgress,
        Status::Completed,
        Status::Canceled,
        Status::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Requested => "requested",
            Status::Active => "active",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Canceled => "canceled",
            Status::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The legal moves, the one table the state machine obeys.
    pub fn can_become(self, next: Status) -> bool {
        use Status::*;
        matches!(
            (self, next),
            (Requested, Active)
                | (Requested, Canceled)
                | (Requested, Failed)
                | (Active, InProgress)
                | (Active, Canceled)
                | (Active, Failed)
                | (InProgress, Completed)
        )
    }
}

/// Who asks to cancel an order: its client, or staff (managers and admins), who may cancel
/// any client's order. Each carries the caller's account id, recorded as `canceled_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canceler {
    Client(AccountId),
    Staff(AccountId),
}

/// The time rules of the lifecycle (`[ordering]` config).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// How long before the scheduled time the worker may check in.
    pub check_in_early: Duration,
    /// How long after the scheduled time check-in stays open; past it the order fails.
    pub grace: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            check_in_early: Duration::minutes(30),
            grace: Duration::minutes(30),
        }
    }
}

/// An order, as Ordering keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Order {
    pub id: OrderId,
    pub client_id: AccountId,
    pub service_type_id: ServiceTypeId,
    /// The service type's name when ordered (later catalog edits do not rewrite orders).
    pub service_type_name: String,
    pub skill: String,
    pub description: String,
    pub scheduled_at: DateTime<Utc>,
    pub duration_minutes: i64,
    pub status: Status,
    pub worker_id: Option<WorkerId>,
    /// The price, once Matching set it (minor units).
    pub price: Option<Money>,
    /// The approximate price shown when ordering (the service type's price then).
    pub approximate_price: Money,
    #[serde(skip)]
    pub assignment_version: i64,
    /// Aggregate version: the number of events this order has published.
    pub version: i64,
    pub requested_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    /// Object-store key of the check-in photo (`GET /orders/{id}/photos/check-in`).
    pub check_in_photo: Option<String>,
    /// Object-store key of the signed report's photo (`GET /orders/{id}/photos/report`).
    pub report_photo: Option<String>,
    /// Why it was canceled (the client's words) or failed (`no_show`, `not_matched`).
    pub reason: Option<String>,
    /// The failed order this one copies.
    pub rebook_of: Option<OrderId>,
    /// The copy made of this (failed) order.
    pub rebooked_as: Option<OrderId>,
    /// Workers Matching must not send (the ones who failed the originals).
    pub excluded_workers: Vec<WorkerId>,
}

/// What a client submits to request help.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    pub service_type_id: ServiceTypeId,
    pub description: String,
    pub scheduled_at: DateTime<Utc>,
}

/// Checks a requested date: in the future, within a year.
fn check_schedule(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), OrderingError> {
    if at <= now {
        return Err(OrderingError::invalid(
            "scheduled_at",
            "must be in the future",
        ));
    }
    if at > now + Duration::days(365) {
        return Err(OrderingError::invalid(
            "scheduled_at",
            "must be within a year",
        ));
    }
    Ok(())
}

impl OrderRequest {
    /// Validates the request against the current time.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), OrderingError> {
        web::text::multi_line("description", &self.description, 2000)?;
        let len = self.description.trim().chars().count();
        if len == 0 || len > 2000 {
            return Err(OrderingError::invalid(
                "description",
                "must be 1 to 2000 characters",
            ));
        }
        check_schedule(self.scheduled_at, now)
    }
}

/// The event an accepted transition publishes.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Requested(OrderRequested),
    Activated(OrderActivated),
    Started(OrderStarted),
    Completed(OrderCompleted),
    Canceled(OrderCanceled),
    Failed(OrderFailed),
}

impl Change {
    /// The event in its envelope, as the order's `version`-th event.
    pub fn envelope(&self, version: i64, cause: Option<&Envelope>) -> Envelope {
        match self {
            Change::Requested(e) => Envelope::new(e, version, cause),
            Change::Activated(e) => Envelope::new(e, version, cause),
            Change::Started(e) => Envelope::new(e, version, cause),
            Change::Completed(e) => Envelope::new(e, version, cause),
            Change::Canceled(e) => Envelope::new(e, version, cause),
            Change::Failed(e) => Envelope::new(e, version, cause),
        }
    }
}

/// One line of an order's history: what it became, when, by whom, why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HistoryEntry {
    pub version: i64,
    pub status: Status,
    pub at: DateTime<Utc>,
    /// The account that caused it; `None` for the system (matching, the deadline).
    pub actor: Option<String>,
    pub note: Option<String>,
}

/// An accepted transition: its event and its history line.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub change: Change,
    pub entry: HistoryEntry,
}

fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

fn refused(code: &'static str, message: impl Into<String>) -> OrderingError {
    Refused::conflict(code, message).into()
}

impl Order {
    /// Client `client_id` requests help: a new order and the event announcing it.
    pub fn request(
        client_id: AccountId,
        req: OrderRequest,
        service_type: &ServiceType,
        now: DateTime<Utc>,
    ) -> Result<(Order, Transition), OrderingError> {
        req.validate(now)?;
        if service_type.retired {
            return Err(OrderingError::invalid(
                "service_type_id",
                "this service type is retired",
            ));
        }
        Ok(Order::new(
            client_id,
            service_type,
            req.description.trim().to_owned(),
            req.scheduled_at,
            now,
            None,
            Vec::new(),
        ))
    }

    fn new(
        client_id: AccountId,
        service_type: &ServiceType,
        description: String,
        scheduled_at: DateTime<Utc>,
        now: DateTime<Utc>,
        rebook_of: Option<OrderId>,
        excluded_workers: Vec<WorkerId>,
    ) -> (Order, Transition) {
        // Times are kept to the microsecond: what the client gets back now is what a later
        // read returns.
        let now = to_micros(now);
        let order = Order {
            id: OrderId::new(),
            client_id,
            service_type_id: service_type.id,
            service_type_name: service_type.name.clone(),
            skill: service_type.skill.clone(),
            description,
            scheduled_at: to_micros(scheduled_at),
            duration_minutes: service_type.duration_minutes,
            status: Status::Requested,
            worker_id: None,
            price: None,
            approximate_price: service_type.price,
            assignment_version: 0,
            version: 1,
            requested_at: now,
            activated_at: None,
            checked_in_at: None,
            completed_at: None,
            canceled_at: None,
            failed_at: None,
            check_in_photo: None,
            report_photo: None,
            reason: None,
            rebook_of,
            rebooked_as: None,
            excluded_workers,
        };
        let event = OrderRequested {
            order_id: order.id,
            client_id: order.client_id,
            service_type_id: service_type.id,
            service_type_name: service_type.name.clone(),
            skill: service_type.skill.clone(),
            description: order.description.clone(),
            scheduled_at: order.scheduled_at,
            duration_minutes: order.duration_minutes,
            base_price: service_type.price,
            rebook_of,
            excluded_workers: order.excluded_workers.clone(),
        };
        let entry = HistoryEntry {
            version: 1,
            status: Status::Requested,
            at: now,
            actor: Some(order.client_id.to_string()),
            note: rebook_of.map(|o| format!("copy of failed order {o}")),
        };
        (
            order,
            Transition {
                change: Change::Requested(event),
                entry,
            },
        )
    }

    /// The client rebooks this failed order for `scheduled_at`: a copy, linked to this
    /// one, that Matching must give to someone other than the worker who did not come.
    pub fn rebook(
        &self,
        by: AccountId,
        scheduled_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(Order, Transition), OrderingError> {
        if by != self.client_id {
            return Err(Refused::NotFound("order").into());
        }
        if self.status != Status::Failed {
            return Err(refused(
                "not_failed",
                format!(
                    "only a failed order can be rebooked; this one is {}",
                    self.status.as_str()
                ),
            ));
        }
        if self.rebooked_as.is_some() {
            return Err(refused(
                "already_rebooked",
                "this order was already rebooked",
            ));
        }
        check_schedule(scheduled_at, now)?;
        let mut excluded = self.excluded_workers.clone();
        // Only a worker who did not come is kept off the copy: one who could not start for
        // want of his kit may well do it next time.
        if self.reason.as_deref() == Some("no_show") {
            excluded.extend(self.worker_id.filter(|w| !excluded.contains(w)));
        }
        // The copy is of what the client ordered, whatever the catalog says today (even if
        // the type was retired since).
        let ordered = ServiceType {
            id: self.service_type_id,
            name: self.service_type_name.clone(),
            description: String::new(),
            skill: self.skill.clone(),
            price: self.approximate_price,
            duration_minutes: self.duration_minutes,
            retired: false,
        };
        Ok(Order::new(
            self.client_id,
            &ordered,
            self.description.clone(),
            scheduled_at,
            now,
            Some(self.id),
            excluded,
        ))
    }

    /// The check-in deadline: the scheduled time plus the grace period.
    pub fn deadline(&self, policy: &Policy) -> DateTime<Utc> {
        self.scheduled_at + policy.grace
    }

    fn facts(&self) -> OrderFacts {
        OrderFacts {
            order_id: self.id,
            client_id: self.client_id,
            worker_id: self.worker_id,
            price: self.price,
            service_type_id: self.service_type_id,
            service_type_name: self.service_type_name.clone(),
            scheduled_at: self.scheduled_at,
            duration_minutes: self.duration_minutes,
            rebook_of: self.rebook_of,
        }
    }

    /// Moves to `next` (already checked legal) and records the history line.
    fn become_(
        &mut self,
        next: Status,
        at: DateTime<Utc>,
        actor: Option<&str>,
        note: Option<String>,
        change: Change,
    ) -> Transition {
        debug_assert!(self.status.can_become(next));
        self.status = next;
        self.version += 1;
        Transition {
            change,
            entry: HistoryEntry {
                version: self.version,
                status: next,
                at,
                actor: actor.map(str::to_owned),
                note,
            },
        }
    }

    /// Matching assigned a worker (assignment number `assignment_version`). Activates a
    /// requested order; a stale or late assignment (or one for an order no longer
    /// requested) changes nothing and yields no event.
    pub fn assign(
        &mut self,
        worker_id: WorkerId,
        price: Money,
        assignment_version: i64,
        now: DateTime<Utc>,
    ) -> Option<Transition> {
        if assignment_version <= self.assignment_version || self.status != Status::Requested {
            return None;
        }
        let now = to_micros(now);
        self.worker_id = Some(worker_id);
        self.price = Some(price);
        self.assignment_version = assignment_version;
        self.activated_at = Some(now);
        let event = OrderActivated {
            order_id: self.id,
            client_id: self.client_id,
            worker_id,
            price,
            service_type_id: self.service_type_id,
            scheduled_at: self.scheduled_at,
            service_type_name: self.service_type_name.clone(),
            duration_minutes: self.duration_minutes,
            rebook_of: self.rebook_of,
            description: self.description.clone(),
            // Names are not the order's: the use case adds them from the people it knows.
            client_name: None,
            worker_name: None,
        };
        Some(self.become_(
            Status::Active,
            now,
            None,
            // The price in minor units, as the history always said it.
            Some(format!(
                "worker {worker_id} assigned, price {}",
                price.minor()
            )),
            Change::Activated(event),
        ))
    }

    /// The client (or staff, `by`) cancels a requested or active order.
    pub fn cancel(
        &mut self,
        by: Canceler,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Transition, OrderingError> {
        let by = match by {
            Canceler::Client(id) if id == self.client_id => id,
            // Another client's order does not exist for this caller (as when reading it);
            // the assigned worker may read the order but not cancel it for the client.
            Canceler::Client(_) => return Err(Refused::NotFound("order").into()),
            Canceler::Staff(id) => id,
        };
        if !self.status.can_become(Status::Canceled) {
            return Err(refused(
                "not_cancelable",
                format!(
                    "only requested or active orders can be canceled; this one is {}",
                    self.status.as_str()
                ),
            ));
        }
        let reason = reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
            return Err(OrderingError::invalid(
                "reason",
                "must be at most 500 characters",
            ));
        }
        let now = to_micros(now);
        let from = self.status;
        self.canceled_at = Some(now);
        self.reason = reason.clone();
        let event = OrderCanceled {
            order: self.facts(),
            from_status: from.as_str().to_owned(),
            canceled_at: now,
            canceled_by: by,
            reason: reason.clone(),
        };
        Ok(self.become_(
            Status::Canceled,
            now,
            Some(&by.to_string()),
            reason,
            Change::Canceled(event),
        ))
    }

    /// The assigned worker checks in on site with a photo (stored under `photo`), inside
    /// the window from `check_in_early` before the scheduled time to the deadline, and only
    /// once the order's supply kit was handed out to him (`kit_issued`; 409
    /// `kit_not_issued` before: he would have nothing to work with).
    pub fn check_in(
        &mut self,
        worker: WorkerId,
        photo: String,
        now: DateTime<Utc>,
        policy: &Policy,
        kit_issued: bool,
    ) -> Result<Transition, OrderingError> {
        if self.worker_id != Some(worker) {
            return Err(Refused::NotFound("order").into());
        }
        if self.status != Status::Active {
            return Err(refused(
                "not_active",
                format!(
                    "only an active order can be checked in; this one is {}",
                    self.status.as_str()
                ),
            ));
        }
        let opens = self.scheduled_at - policy.check_in_early;
        if now < opens {
            return Err(refused(
                "check_in_too_early",
                format!(
                    "check-in opens at {} ({} minutes before the scheduled time)",
                    opens.to_rfc3339(),
                    policy.check_in_early.num_minutes()
                ),
            ));
        }
        let deadline = self.deadline(policy);
        if now > deadline {
            return Err(refused(
                "check_in_too_late",
                format!("check-in closed at {}", deadline.to_rfc3339()),
            ));
        }
        if !kit_issued {
            return Err(refused(
                "kit_not_issued",
                "the order's supply kit has not been issued yet: collect it from supply first",
            ));
        }
        let now = to_micros(now);
        self.checked_in_at = Some(now);
        self.check_in_photo = Some(photo.clone());
        let event = OrderStarted {
            order: self.facts(),
            checked_in_at: now,
            check_in_photo: photo,
        };
        let actor = worker.to_string();
        Ok(self.become_(
            Status::InProgress,
            now,
            Some(&actor),
            None,
            Change::Started(event),
        ))
    }

    /// The assigned worker finishes with a photo of the report signed by the client.
    pub fn complete(
        &mut self,
        worker: WorkerId,
        report_photo: String,
        now: DateTime<Utc>,
    ) -> Result<Transition, OrderingError> {
        if self.worker_id != Some(worker) {
            return Err(Refused::NotFound("order").into());
        }
        if self.status != Status::InProgress {
            return Err(refused(
                "not_in_progress",
                format!(
                    "only an order in progress (checked in) can be completed; this one is {}",
                    self.status.as_str()
                ),
            ));
        }
        let now = to_micros(now);
        self.completed_at = Some(now);
        self.report_photo = Some(report_photo.clone());
        let event = OrderCompleted {
            order: self.facts(),
            checked_in_at: self.checked_in_at.unwrap_or(now),
            completed_at: now,
            report_photo,
        };
        let actor = worker.to_string();
        Ok(self.become_(
            Status::Completed,
            now,
            Some(&actor),
            None,
            Change::Completed(event),
        ))
    }

    /// Fails the order if nobody checked in by the deadline: `no_show` when a worker was
    /// assigned, `not_matched` when none ever was. An active order whose supply kit was not
    /// issued (`kit_issued`) by its scheduled time fails then, as `kit_not_ready`: the
    /// worker could not start without it, so he is not at fault. `None` when it is not (or
    /// no longer) due.
    pub fn fail_if_overdue(
        &mut self,
        now: DateTime<Utc>,
        policy: &Policy,
        kit_issued: bool,
    ) -> Option<Transition> {
        let kit_late = self.status == Status::Active && !kit_issued;
        let deadline = if kit_late {
            self.scheduled_at
        } else {
            self.deadline(policy)
        };
        if now <= deadline || !self.status.can_become(Status::Failed) {
            return None;
        }
        let from = self.status;
        let reason = if kit_late {
            "kit_not_ready"
        } else if from == Status::Active {
            "no_show"
        } else {
            "not_matched"
        };
        let now = to_micros(now);
        self.failed_at = Some(now);
        self.reason = Some(reason.to_owned());
        let event = OrderFailed {
            order: self.facts(),
            from_status: from.as_str().to_owned(),
            reason: reason.to_owned(),
            worker_at_fault: Some(reason == "no_show"),
            deadline,
            failed_at: now,
        };
        Some(self.become_(
            Status::Failed,
            now,
            None,
            Some(reason.to_owned()),
            Change::Failed(event),
        ))
    }
}

#[cfg(test)]
// Tests take "now" from the machine where any instant will do.
#[allow(clippy::disallowed_methods)]
mod tests {
    use uuid::Uuid;

    use super::*;

    const CLIENT: AccountId = AccountId::from_uuid(Uuid::from_u128(1));
    const OTHER_CLIENT: AccountId = AccountId::from_uuid(Uuid::from_u128(2));
    const MANAGER: AccountId = AccountId::from_uuid(Uuid::from_u128(3));

    fn money(minor: i64) -> Money {
        Money::from_minor(minor)
    }

    fn service_type() -> ServiceType {
        ServiceType {
            id: ServiceTypeId::new(),
            name: "Cleaning".into(),
            description: String::new(),
            skill: "cleaning".into(),
            price: money(120),
            duration_minutes: 90,
            retired: false,
        }
    }

    fn request(at: DateTime<Utc>) -> OrderRequest {
        OrderRequest {
            service_type_id: ServiceTypeId::new(),
            description: "Wash the dishes".into(),
            scheduled_at: at,
        }
    }

    fn order_at(now: DateTime<Utc>, in_: Duration) -> Order {
        Order::request(CLIENT, request(now + in_), &service_type(), now)
            .unwrap()
            .0
    }

    fn code(r: Result<Transition, OrderingError>) -> &'static str {
        match r {
            Err(OrderingError::Refused(Refused::Conflict { code, .. })) => code,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn only_its_client_or_staff_cancel_an_order() {
        // Given an active order of client-1
        let now = Utc::now();
        let mut order = order_at(now, Duration::hours(3));
        order.assign(WorkerId::new(), money(100), 1, now).unwrap();
        let before = order.clone();
        // When another client (or the assigned worker) asks, then the order is not there
        // for them and nothing changes
        assert!(matches!(
            order.cancel(Canceler::Client(OTHER_CLIENT), None, now),
            Err(OrderingError::Refused(Refused::NotFound("order")))
        ));
        assert_eq!(order, before);
        // When its client asks, then it is canceled by the client
        let Change::Canceled(event) = order
            .clone()
            .cancel(Canceler::Client(CLIENT), None, now)
            .unwrap()
            .change
        else {
            panic!("expected order.canceled")
        };
        assert_eq!(event.canceled_by, CLIENT);
        // When a manager asks, then it is canceled by the manager
        let Change::Canceled(event) = order
            .cancel(Canceler::Staff(MANAGER), Some("duplicate".into()), now)
            .unwrap()
            .change
        else {
            panic!("expected order.canceled")
        };
        assert_eq!(
            (event.canceled_by, event.reason.as_deref()),
            (MANAGER, Some("duplicate"))
        );
    }

    #[test]
    fn a_request_makes_a_requested_order_and_its_event() {
        let now = Utc::now();
        let st = service_type();
        let (order, t) =
            Order::request(CLIENT, request(now + Duration::hours(3)), &st, now).unwrap();
        assert_eq!(order.status, Status::Requested);
        assert_eq!(order.version, 1);
        let Change::Requested(event) = t.change else {
            panic!("expected order.requested")
        };
        assert_eq!(event.order_id, order.id);
        assert_eq!(event.skill, "cleaning");
        assert_eq!(event.duration_minutes, 90);
        assert_eq!(event.base_price, money(120));
    }

    #[test]
    fn a_time_in_the_past_or_a_retired_type_is_refused_naming_the_field() {
        let now = Utc::now();
        let field = |r: Result<(Order, Transition), OrderingError>| match r {
            Err(OrderingError::Refused(Refused::Invalid { field, .. })) => field,
            other => panic!("expected refusal, got {other:?}"),
        };
        let past = Order::request(
            CLIENT,
            request(now - Duration::minutes(1)),
            &service_type(),
            now,
        );
        assert_eq!(field(past), "scheduled_at");
        let mut retired = service_type();
        retired.retired = true;
        let r = Order::request(CLIENT, request(now + Duration::hours(1)), &retired, now);
        assert_eq!(field(r), "service_type_id");
    }

    #[test]
    fn the_first_assignment_activates_and_later_or_stale_ones_do_nothing() {
        let now = Utc::now();
        let mut order = order_at(now, Duration::hours(1));
        let (w1, w2) = (WorkerId::new(), WorkerId::new());
        let t = order.assign(w1, money(100), 2, now).expect("activates");
        assert!(matches!(t.change, Change::Activated(ref a) if a.worker_id == w1));
        assert_eq!(order.status, Status::Active);
        assert_eq!(order.version, 2);
        assert!(order.assign(w2, money(100), 1, now).is_none());
        assert!(order.assign(w1, money(100), 2, now).is_none());
        assert_eq!(order.worker_id, Some(w1));
        assert_eq!(order.version, 2);
    }

    #[test]
    fn check_in_only_inside_the_window_and_only_by_the_worker() {
        let now = Utc::now();
        let policy = Policy::default();
        let mut order = order_at(now, Duration::hours(2));
        let w = WorkerId::new();
        order.assign(w, money(100), 1, now).unwrap();
        let early = order.scheduled_at - Duration::minutes(31);
        assert_eq!(
            code(order.check_in(w, "p".into(), early, &policy, true)),
            "check_in_too_early"
        );
        let late = order.scheduled_at + Duration::minutes(31);
        assert_eq!(
            code(order.check_in(w, "p".into(), late, &policy, true)),
            "check_in_too_late"
        );
        assert!(matches!(
            order.check_in(
                WorkerId::new(),
                "p".into(),
                order.scheduled_at,
                &policy,
                true
            ),
            Err(OrderingError::Refused(Refused::NotFound(_)))
        ));
        assert_eq!(order.version, 2, "refusals change nothing");
        let on_time = order.scheduled_at - Duration::minutes(5);
        let t = order
            .check_in(w, "p".into(), on_time, &policy, true)
            .unwrap();
        assert!(matches!(t.change, Change::Started(_)));
        assert_eq!(order.status, Status::InProgress);
        let t = order
            .complete(w, "r".into(), on_time + Duration::hours(1))
            .unwrap();
        assert!(matches!(t.change, Change::Completed(ref c) if c.report_photo == "r"));
        assert_eq!(order.version, 4);
    }

    #[test]
    fn a_no_show_fails_once_after_the_deadline_and_the_copy_excludes_the_worker() {
        let now = Utc::now();
        let policy = Policy::default();
        let mut order = order_at(now, Duration::hours(1));
        let w = WorkerId::new();
        order.assign(w, money(100), 1, now).unwrap();
        assert!(
            order
                .fail_if_overdue(order.deadline(&policy), &policy, true)
                .is_none()
        );
        let after = order.deadline(&policy) + Duration::seconds(1);
        let t = order.fail_if_overdue(after, &policy, true).expect("fails");
        let Change::Failed(failed) = t.change else {
            panic!("expected order.failed")
        };
        assert_eq!(failed.reason, "no_show");
        assert_eq!(failed.order.worker_id, Some(w));
        assert!(
            order.fail_if_overdue(after, &policy, true).is_none(),
            "only once"
        );

        let (copy, t) = order
            .rebook(CLIENT, after + Duration::days(1), after)
            .unwrap();
        assert_eq!(copy.rebook_of, Some(order.id));
        assert_eq!(copy.excluded_workers, vec![w]);
        let Change::Requested(req) = t.change else {
            panic!("expected order.requested")
        };
        assert_eq!(req.excluded_workers, vec![w]);
        assert!(matches!(
            order.rebook(OTHER_CLIENT, after + Duration::days(1), after),
            Err(OrderingError::Refused(Refused::NotFound(_)))
        ));
    }

    #[test]
    fn given_an_active_order_whose_kit_was_not_issued_then_check_in_is_refused_and_it_fails_at_its_start_blaming_nobody()
     {
        // Given an active order whose kit was not issued
        let now = Utc::now();
        let policy = Policy::default();
        let mut order = order_at(now, Duration::hours(1));
        let w = WorkerId::new();
        order.assign(w, money(100), 1, now).unwrap();
        // When the worker checks in on time, then he is refused, naming the kit
        let on_time = order.scheduled_at - Duration::minutes(5);
        assert_eq!(
            code(order.check_in(w, "p".into(), on_time, &policy, false)),
            "kit_not_issued"
        );
        assert_eq!(order.status, Status::Active, "a refusal changes nothing");
        // When the sweep runs at the scheduled time, nothing yet; just after it, it fails
        assert!(
            order
                .fail_if_overdue(order.scheduled_at, &policy, false)
                .is_none()
        );
        let after = order.scheduled_at + Duration::seconds(1);
        let t = order.fail_if_overdue(after, &policy, false).expect("fails");
        // Then the reason is the kit, the worker is not at fault, the client is not told
        // the worker did not come, and the copy may go to the same worker
        let Change::Failed(failed) = t.change else {
            panic!("expected order.failed")
        };
        assert_eq!(failed.reason, "kit_not_ready");
        assert_eq!(failed.worker_at_fault, Some(false));
        assert!(!failed.worker_at_fault());
        assert_eq!(failed.deadline, order.scheduled_at);
        assert_eq!(order.reason.as_deref(), Some("kit_not_ready"));
        let (copy, _) = order
            .rebook(CLIENT, after + Duration::days(1), after)
            .unwrap();
        assert!(copy.excluded_workers.is_empty());
    }

    #[test]
    fn given_an_issued_kit_then_the_order_waits_for_the_usual_deadline_and_a_no_show_is_the_workers_fault()
     {
        let now = Utc::now();
        let policy = Policy::default();
        let mut order = order_at(now, Duration::hours(1));
        order.assign(WorkerId::new(), money(100), 1, now).unwrap();
        let after_start = order.scheduled_at + Duration::seconds(1);
        assert!(order.fail_if_overdue(after_start, &policy, true).is_none());
        let after = order.deadline(&policy) + Duration::seconds(1);
        let Change::Failed(failed) = order.fail_if_overdue(after, &policy, true).unwrap().change
        else {
            panic!("expected order.failed")
        };
        assert_eq!(
            (failed.reason.as_str(), failed.worker_at_fault),
            ("no_show", Some(true))
        );
    }

    #[test]
    fn a_requested_order_past_its_deadline_fails_as_not_matched() {
        let now = Utc::now();
        let policy = Policy::default();
        let mut order = order_at(now, Duration::hours(1));
        let t = order
            .fail_if_overdue(now + Duration::hours(2), &policy, false)
            .unwrap();
        assert!(matches!(t.change, Change::Failed(ref f) if f.reason == "not_matched"));
    }

    mod state_machine {
        //! Random command sequences against one order: no illegal transition is ever
        //! accepted, every accepted one emits exactly one event of the right kind and moves
        //! the version by one, and a refusal changes nothing.

        use proptest::prelude::*;

        use super::*;

        #[derive(Debug, Clone)]
        enum Command {
            Assign {
                worker: usize,
                version: i64,
            },
            Cancel {
                by_client: bool,
            },
            CheckIn {
                worker: usize,
                minutes: i64,
            },
            Complete {
                worker: usize,
            },
            Sweep {
                minutes: i64,
            },
            /// Inventory announces the order's kit issued.
            IssueKit,
        }

        fn command() -> impl Strategy<Value = Command> {
            prop_oneof![
                (0..3usize, 0..4i64)
                    .prop_map(|(worker, version)| Command::Assign { worker, version }),
                any::<bool>().prop_map(|by_client| Command::Cancel { by_client }),
                (0..3usize, -120..120i64)
                    .prop_map(|(worker, minutes)| Command::CheckIn { worker, minutes }),
                (0..3usize).prop_map(|worker| Command::Complete { worker }),
                (-120..120i64).prop_map(|minutes| Command::Sweep { minutes }),
                Just(Command::IssueKit),
            ]
        }

        fn expected_status(change: &Change) -> Status {
            match change {
                Change::Requested(_) => Status::Requested,
                Change::Activated(_) => Status::Active,
                Change::Started(_) => Status::InProgress,
                Change::Completed(_) => Status::Completed,
                Change::Canceled(_) => Status::Canceled,
                Change::Failed(_) => Status::Failed,
            }
        }

        proptest! {
            #[test]
            fn only_legal_transitions_each_with_one_event(
                commands in proptest::collection::vec(command(), 1..25)
            ) {
                let policy = Policy::default();
                let start = Utc::now();
                let mut order = order_at(start, Duration::hours(3));
                let workers = [WorkerId::new(), WorkerId::new(), WorkerId::new()];
                let mut kit_issued = false;
                for c in commands {
                    let before = order.clone();
                    let outcome: Result<Option<Transition>, OrderingError> = match c {
                        Command::Assign { worker, version } => {
                            Ok(order.assign(workers[worker], money(100), version, start))
                        }
                        Command::Cancel { by_client } => {
                            let by = if by_client {
                                Canceler::Client(CLIENT)
                            } else {
                                Canceler::Staff(MANAGER)
                            };
                            order.cancel(by, None, start).map(Some)
                        }
                        Command::CheckIn { worker, minutes } => {
                            let at = order.scheduled_at + Duration::minutes(minutes);
                            order.check_in(workers[worker], "p".into(), at, &policy, kit_issued).map(Some)
                        }
                        Command::Complete { worker } => {
                            order.complete(workers[worker], "r".into(), start).map(Some)
                        }
                        Command::Sweep { minutes } => {
                            let at = order.scheduled_at + Duration::minutes(minutes);
                            Ok(order.fail_if_overdue(at, &policy, kit_issued))
                        }
                        Command::IssueKit => {
                            kit_issued = true;
                            Ok(None)
                        }
                    };
                    // Nobody starts without the kit; a failure for want of it blames nobody
                    if let Ok(Some(t)) = &outcome {
                        if let Change::Started(_) = t.change {
                            prop_assert!(kit_issued, "checked in without the kit");
                        }
                        if let Change::Failed(f) = &t.change {
                            prop_assert_eq!(f.worker_at_fault(), f.reason == "no_show");
                            prop_assert_eq!(f.reason == "kit_not_ready", !kit_issued && f.from_status == "active");
                        }
                    }
                    match outcome {
                        Ok(Some(t)) => {
                            prop_assert!(before.status.can_become(order.status),
                                "{:?} -> {:?} accepted", before.status, order.status);
                            prop_assert_eq!(order.version, before.version + 1);
                            prop_assert_eq!(expected_status(&t.change), order.status);
                            prop_assert_eq!(t.entry.version, order.version);
                            prop_assert_eq!(t.entry.status, order.status);
                        }
                        Ok(None) | Err(_) => prop_assert_eq!(&order, &before),
                    }
                }
            }
        }
    }
}
