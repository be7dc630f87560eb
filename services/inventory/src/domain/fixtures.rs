//! Givens the domain's unit tests share: a fixed business time, an order's activation and
//! a kit nobody is responsible for.

use chrono::{DateTime, Utc};
use contracts::ordering::OrderActivated;
use contracts::{AccountId, Money, OrderId, ServiceTypeId, WorkerId};

use super::Responsibility;

/// `seconds` after a fixed instant, so tests read in offsets.
pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
}

/// Ordering's activation of a one-hour cleaning order for Kim, due at `at(3600)`.
pub(crate) fn activated() -> OrderActivated {
    OrderActivated {
        order_id: OrderId::new(),
        client_id: AccountId::new(),
        worker_id: WorkerId::new(),
        price: Money::from_minor(100),
        service_type_id: ServiceTypeId::new(),
        scheduled_at: at(3600),
        service_type_name: "Cleaning".into(),
        duration_minutes: 60,
        rebook_of: None,
        description: "Kitchen, 2nd floor, Elm St 4".into(),
        client_name: Some("Kim".into()),
        worker_name: None,
    }
}

/// No supply employee responsible (none was known).
pub(crate) fn nobody() -> Responsibility {
    Responsibility {
        account_id: None,
        reason: "nobody".into(),
    }
}
