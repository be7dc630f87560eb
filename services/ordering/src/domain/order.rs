//! The order lifecycle (this issue: requested -> active).

use chrono::{DateTime, Utc};
use contracts::ordering::{OrderActivated, OrderRequested};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::service_type::ServiceType;
use crate::error::OrderingError;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for Matching to assign a worker.
    Requested,
    /// A worker is assigned and the price set.
    Active,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Requested => "requested",
            Status::Active => "active",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "requested" => Some(Status::Requested),
            "active" => Some(Status::Active),
            _ => None,
        }
    }
}

/// An order, as Ordering keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: Uuid,
    pub client_id: String,
    pub service_type_id: Uuid,
    pub description: String,
    pub scheduled_at: DateTime<Utc>,
    pub duration_minutes: i64,
    pub status: Status,
    pub worker_id: Option<Uuid>,
    /// The price, once Matching set it (minor units).
    pub price: Option<i64>,
    /// The approximate price shown when ordering (the service type's price).
    pub approximate_price: i64,
    #[serde(skip)]
    pub assignment_version: i64,
    /// Aggregate version: the number of events this order has published.
    pub version: i64,
    pub requested_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
}

/// What a client submits to request help.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    pub service_type_id: Uuid,
    pub description: String,
    pub scheduled_at: DateTime<Utc>,
}

impl OrderRequest {
    /// Validates the request against the service type and the current time.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), OrderingError> {
        let len = self.description.trim().chars().count();
        if len == 0 || len > 2000 {
            return Err(OrderingError::invalid(
                "description",
                "must be 1 to 2000 characters",
            ));
        }
        if self.scheduled_at <= now {
            return Err(OrderingError::invalid(
                "scheduled_at",
                "must be in the future",
            ));
        }
        if self.scheduled_at > now + chrono::Duration::days(365) {
            return Err(OrderingError::invalid(
                "scheduled_at",
                "must be within a year",
            ));
        }
        Ok(())
    }
}

impl Order {
    /// Client `client_id` requests help: a new order and the event announcing it.
    pub fn request(
        client_id: &str,
        req: OrderRequest,
        service_type: &ServiceType,
        now: DateTime<Utc>,
    ) -> Result<(Order, OrderRequested), OrderingError> {
        req.validate(now)?;
        // Times are kept to the microsecond: what the client gets back now is what a later
        // read returns.
        let now = to_micros(now);
        let order = Order {
            id: Uuid::now_v7(),
            client_id: client_id.to_owned(),
            service_type_id: service_type.id,
            description: req.description.trim().to_owned(),
            scheduled_at: to_micros(req.scheduled_at),
            duration_minutes: service_type.duration_minutes,
            status: Status::Requested,
            worker_id: None,
            price: None,
            approximate_price: service_type.price,
            assignment_version: 0,
            version: 1,
            requested_at: now,
            activated_at: None,
        };
        let event = OrderRequested {
            order_id: order.id,
            client_id: order.client_id.clone(),
            service_type_id: service_type.id,
            service_type_name: service_type.name.clone(),
            skill: service_type.skill.clone(),
            description: order.description.clone(),
            scheduled_at: order.scheduled_at,
            duration_minutes: order.duration_minutes,
            base_price: service_type.price,
            rebook_of: None,
            excluded_workers: Vec::new(),
        };
        Ok((order, event))
    }

    /// Matching assigned a worker (assignment number `assignment_version`). Activates a
    /// requested order; a stale or late assignment changes nothing and yields no event.
    pub fn assign(
        &mut self,
        worker_id: Uuid,
        price: i64,
        assignment_version: i64,
        now: DateTime<Utc>,
    ) -> Option<OrderActivated> {
        if assignment_version <= self.assignment_version || self.status != Status::Requested {
            return None;
        }
        self.status = Status::Active;
        self.worker_id = Some(worker_id);
        self.price = Some(price);
        self.assignment_version = assignment_version;
        self.activated_at = Some(to_micros(now));
        self.version += 1;
        Some(OrderActivated {
            order_id: self.id,
            client_id: self.client_id.clone(),
            worker_id,
            price,
            service_type_id: self.service_type_id,
            scheduled_at: self.scheduled_at,
            service_type_name: String::new(),
            duration_minutes: self.duration_minutes,
            rebook_of: None,
        })
    }
}

fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service_type() -> ServiceType {
        ServiceType {
            id: Uuid::now_v7(),
            name: "Cleaning".into(),
            description: String::new(),
            skill: "cleaning".into(),
            price: 120,
            duration_minutes: 90,
        }
    }

    fn request(at: DateTime<Utc>) -> OrderRequest {
        OrderRequest {
            service_type_id: Uuid::now_v7(),
            description: "Wash the dishes".into(),
            scheduled_at: at,
        }
    }

    #[test]
    fn a_request_makes_a_requested_order_and_its_event() {
        let now = Utc::now();
        let st = service_type();
        let (order, event) = Order::request(
            "client-1",
            request(now + chrono::Duration::hours(3)),
            &st,
            now,
        )
        .unwrap();
        assert_eq!(order.status, Status::Requested);
        assert_eq!(order.version, 1);
        assert_eq!(event.order_id, order.id);
        assert_eq!(event.skill, "cleaning");
        assert_eq!(event.duration_minutes, 90);
        assert_eq!(event.base_price, 120);
    }

    #[test]
    fn a_time_in_the_past_is_refused_naming_the_field() {
        let now = Utc::now();
        match Order::request(
            "client-1",
            request(now - chrono::Duration::minutes(1)),
            &service_type(),
            now,
        ) {
            Err(OrderingError::Invalid { field, .. }) => assert_eq!(field, "scheduled_at"),
            other => panic!("expected refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_first_assignment_activates_and_later_or_stale_ones_do_nothing() {
        let now = Utc::now();
        let (mut order, _) = Order::request(
            "client-1",
            request(now + chrono::Duration::hours(1)),
            &service_type(),
            now,
        )
        .unwrap();
        let w1 = Uuid::now_v7();
        let w2 = Uuid::now_v7();
        let activated = order.assign(w1, 100, 2, now).expect("activates");
        assert_eq!(activated.worker_id, w1);
        assert_eq!(order.status, Status::Active);
        assert_eq!(order.version, 2);
        // An older assignment delivered late is stale.
        assert!(order.assign(w2, 100, 1, now).is_none());
        // A duplicate of the applied one too.
        assert!(order.assign(w1, 100, 2, now).is_none());
        assert_eq!(order.worker_id, Some(w1));
        assert_eq!(order.version, 2);
    }
}
