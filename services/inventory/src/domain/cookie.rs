//! The fortune cookie of a kit: one per kit, ordered from the external contractor, arriving
//! about ten minutes later.
//!
//! `none` (kits issued before cookies were ordered) | `to_order` -> `ordered` -> `arrived`,
//! or -> `failed` with the reason, which supply staff may order again (`to_order`). A
//! canceled kit calls its cookie off: `to_cancel` -> `canceled` (or `arrived`, when it was
//! delivered first). A cookie
//! that arrives is kept whatever was recorded before (the contractor delivered it: a failed
//! order whose answer was lost, or a callback before the answer was recorded), and arrives
//! once: a second callback changes nothing.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use service::Refused;

use crate::error::InventoryError;

/// Where a kit's cookie is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CookieStatus {
    /// No cookie: the kit was issued before Inventory ordered cookies.
    None,
    /// To be ordered from the contractor (the ordering job calls soon).
    ToOrder,
    /// The contractor took the order; the cookie is on its way.
    Ordered,
    /// In the warehouse.
    Arrived,
    /// The order failed (the reason says why); staff may order it again.
    Failed,
    /// Its kit was canceled: the order is to be called off at the contractor.
    ToCancel,
    /// Called off at the contractor: it will not come.
    Canceled,
}

impl CookieStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CookieStatus::None => "none",
            CookieStatus::ToOrder => "to_order",
            CookieStatus::Ordered => "ordered",
            CookieStatus::Arrived => "arrived",
            CookieStatus::Failed => "failed",
            CookieStatus::ToCancel => "to_cancel",
            CookieStatus::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<CookieStatus> {
        Some(match s {
            "none" => CookieStatus::None,
            "to_order" => CookieStatus::ToOrder,
            "ordered" => CookieStatus::Ordered,
            "arrived" => CookieStatus::Arrived,
            "failed" => CookieStatus::Failed,
            "to_cancel" => CookieStatus::ToCancel,
            "canceled" => CookieStatus::Canceled,
            _ => return None,
        })
    }
}

/// A kit's fortune cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Cookie {
    pub status: CookieStatus,
    /// The contractor's id of the cookie, once it took the order.
    pub contractor_id: Option<String>,
    /// Why the order failed (`failed` only).
    pub failure: Option<String>,
    /// How many times it was ordered (a re-order after a failure counts one more).
    pub orders: i64,
    /// When the contractor took the order.
    pub ordered_at: Option<DateTime<Utc>>,
    /// When it arrived.
    pub arrived_at: Option<DateTime<Utc>>,
    /// While ordered: when Inventory asks the contractor itself if no callback came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_at: Option<DateTime<Utc>>,
}

impl Cookie {
    /// The cookie of a new kit: to be ordered.
    pub fn to_order() -> Cookie {
        Cookie {
            status: CookieStatus::ToOrder,
            contractor_id: None,
            failure: None,
            orders: 1,
            ordered_at: None,
            arrived_at: None,
            check_at: None,
        }
    }

    /// Whether it has arrived (a kit without a cookie, issued before cookies were ordered,
    /// needs none).
    pub fn arrived(&self) -> bool {
        matches!(self.status, CookieStatus::Arrived | CookieStatus::None)
    }

    /// In words, for refusals and staff: "not ordered yet", "ordered, on its way",
    /// "its order failed: <reason>"...
    pub fn describe(&self) -> String {
        match self.status {
            CookieStatus::None => "none needed".into(),
            CookieStatus::ToOrder => "not ordered yet".into(),
            CookieStatus::Ordered => "ordered, on its way".into(),
            CookieStatus::Arrived => "arrived".into(),
            CookieStatus::Failed => format!(
                "its order failed: {}; it can be ordered again",
                self.failure.as_deref().unwrap_or("no reason given")
            ),
            CookieStatus::ToCancel => "being called off".into(),
            CookieStatus::Canceled => "called off".into(),
        }
    }

    /// The contractor took the order as cookie `contractor_id` at `now`; `delivered` when it
    /// says it was delivered already (an order repeated after the cookie came). Ordered, to
    /// be checked at `check_at` if no callback comes; `None` when it was not to be ordered
    /// (arrived meanwhile, or re-ordered by someone else: nothing to record).
    pub fn took_order(
        &self,
        contractor_id: &str,
        delivered: bool,
        now: DateTime<Utc>,
        check_at: DateTime<Utc>,
    ) -> Option<Cookie> {
        if self.status != CookieStatus::ToOrder {
            return None;
        }
        let ordered = Cookie {
            status: CookieStatus::Ordered,
            contractor_id: Some(contractor_id.to_owned()),
            failure: None,
            ordered_at: Some(now),
            check_at: Some(check_at),
            ..self.clone()
        };
        if delivered {
            return ordered.came(contractor_id, now);
        }
        Some(ordered)
    }

    /// Ordering it failed for `reason` (a refusal, or no answer after every retry): failed;
    /// `None` when it was not being ordered.
    pub fn order_failed(&self, reason: &str) -> Option<Cookie> {
        if !matches!(self.status, CookieStatus::ToOrder | CookieStatus::Ordered) {
            return None;
        }
        Some(Cookie {
            status: CookieStatus::Failed,
            failure: Some(reason.to_owned()),
            check_at: None,
            ..self.clone()
        })
    }

    /// The contractor says cookie `contractor_id` was delivered (its callback or our
    /// check): arrived at `now`, whatever was recorded before; `None` when it arrived
    /// already (a duplicate or late callback) or the kit needs no cookie.
    pub fn came(&self, contractor_id: &str, now: DateTime<Utc>) -> Option<Cookie> {
        if self.arrived() {
            return None;
        }
        Some(Cookie {
            status: CookieStatus::Arrived,
            contractor_id: Some(contractor_id.to_owned()),
            failure: None,
            arrived_at: Some(now),
            check_at: None,
            ..self.clone()
        })
    }

    /// Its kit was canceled: the order is to be called off at the contractor (even a
    /// failed one: the contractor may have baked behind a lost answer); `None` when there
    /// is nothing to call off (arrived, none needed, called off already).
    pub fn cancel(&self) -> Option<Cookie> {
        matches!(
            self.status,
            CookieStatus::ToOrder | CookieStatus::Ordered | CookieStatus::Failed
        )
        .then(|| Cookie {
            status: CookieStatus::ToCancel,
            check_at: None,
            ..self.clone()
        })
    }

    /// The contractor called the order off (or had none under the key): canceled; when it
    /// says the cookie was delivered first, it arrived at `now`. `None` unless being called
    /// off.
    pub fn called_off(&self, delivered_first: bool, now: DateTime<Utc>) -> Option<Cookie> {
        if self.status != CookieStatus::ToCancel {
            return None;
        }
        Some(if delivered_first {
            Cookie {
                status: CookieStatus::Arrived,
                arrived_at: Some(now),
                ..self.clone()
            }
        } else {
            Cookie {
                status: CookieStatus::Canceled,
                ..self.clone()
            }
        })
    }

    /// Still on its way when checked: check again at `at`; `None` unless ordered.
    pub fn check_again(&self, at: DateTime<Utc>) -> Option<Cookie> {
        (self.status == CookieStatus::Ordered).then(|| Cookie {
            check_at: Some(at),
            ..self.clone()
        })
    }

    /// Supply staff order a failed cookie again: to be ordered (with the same key, so a
    /// cookie the contractor baked although the order seemed to fail is not baked twice).
    /// Refused (409 `cookie_not_failed`) unless it failed.
    pub fn reorder(&self) -> Result<Cookie, InventoryError> {
        if self.status != CookieStatus::Failed {
            return Err(Refused::conflict(
                "cookie_not_failed",
                format!(
                    "only a failed cookie can be ordered again; this one is {}",
                    self.status.as_str()
                ),
            )
            .into());
        }
        Ok(Cookie {
            status: CookieStatus::ToOrder,
            failure: None,
            orders: self.orders + 1,
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::at;

    fn code(e: InventoryError) -> &'static str {
        match e {
            InventoryError::Refused(Refused::Conflict { code, .. }) => code,
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn given_a_new_kit_when_the_contractor_takes_the_order_then_it_is_ordered_and_checked_later() {
        // Given a cookie to order
        let cookie = Cookie::to_order();
        assert!(!cookie.arrived());
        // When the contractor takes it
        let ordered = cookie.took_order("c-1", false, at(0), at(900)).unwrap();
        // Then it is ordered under the contractor's id, to be checked at 900 s
        assert_eq!(ordered.status, CookieStatus::Ordered);
        assert_eq!(ordered.contractor_id.as_deref(), Some("c-1"));
        assert_eq!(
            (ordered.ordered_at, ordered.check_at),
            (Some(at(0)), Some(at(900)))
        );
        // And an answer recorded twice changes nothing the second time
        assert_eq!(ordered.took_order("c-1", false, at(1), at(901)), None);
    }

    #[test]
    fn given_an_ordered_cookie_when_it_comes_twice_then_it_arrives_once() {
        // Given an ordered cookie
        let ordered = Cookie::to_order()
            .took_order("c-1", false, at(0), at(900))
            .unwrap();
        // When the callback comes
        let arrived = ordered.came("c-1", at(600)).unwrap();
        // Then it arrived at 600 s, nothing left to check
        assert_eq!(arrived.status, CookieStatus::Arrived);
        assert_eq!(
            (arrived.arrived_at, arrived.check_at),
            (Some(at(600)), None)
        );
        assert!(arrived.arrived());
        // When a duplicate or late callback comes, then nothing changes
        assert_eq!(arrived.came("c-1", at(700)), None);
        // And a late "order failed" cannot undo it
        assert_eq!(arrived.order_failed("timeout"), None);
    }

    #[test]
    fn given_a_failed_order_when_the_cookie_comes_anyway_then_it_arrived() {
        // Given an order that failed (the answer was lost although the contractor baked)
        let failed = Cookie::to_order()
            .order_failed("no answer after 4 tries")
            .unwrap();
        assert_eq!(failed.status, CookieStatus::Failed);
        assert_eq!(failed.failure.as_deref(), Some("no answer after 4 tries"));
        // When the contractor's callback comes
        let arrived = failed.came("c-9", at(600)).unwrap();
        // Then the cookie arrived and the failure is gone
        assert_eq!(arrived.status, CookieStatus::Arrived);
        assert_eq!(
            (arrived.failure, arrived.contractor_id.as_deref()),
            (None, Some("c-9"))
        );
    }

    #[test]
    fn given_a_failed_cookie_when_staff_reorder_then_it_is_to_order_again_and_counted() {
        // Given a refused order
        let failed = Cookie::to_order()
            .order_failed("cannot bake for this client")
            .unwrap();
        // When staff order it again
        let again = failed.reorder().unwrap();
        // Then it is to be ordered, the reason gone, the second order
        assert_eq!(
            (again.status, again.failure.clone(), again.orders),
            (CookieStatus::ToOrder, None, 2)
        );
        // And re-ordering one that did not fail is refused
        assert_eq!(code(again.reorder().unwrap_err()), "cookie_not_failed");
        let arrived = again
            .took_order("c-2", false, at(0), at(1))
            .unwrap()
            .came("c-2", at(5))
            .unwrap();
        assert_eq!(code(arrived.reorder().unwrap_err()), "cookie_not_failed");
    }

    #[test]
    fn given_a_repeated_order_of_a_delivered_cookie_then_it_arrived_at_once() {
        // Given a cookie re-ordered after a failure the contractor had in fact baked
        let again = Cookie::to_order()
            .order_failed("timeout")
            .unwrap()
            .reorder()
            .unwrap();
        // When the contractor answers that it was delivered already
        let cookie = again.took_order("c-1", true, at(10), at(900)).unwrap();
        // Then it arrived
        assert_eq!(
            (cookie.status, cookie.arrived_at),
            (CookieStatus::Arrived, Some(at(10)))
        );
    }

    #[test]
    fn given_a_cookie_still_baking_when_checked_then_it_is_checked_again_later() {
        let ordered = Cookie::to_order()
            .took_order("c-1", false, at(0), at(900))
            .unwrap();
        let later = ordered.check_again(at(960)).unwrap();
        assert_eq!(
            (later.status, later.check_at),
            (CookieStatus::Ordered, Some(at(960)))
        );
        assert_eq!(Cookie::to_order().check_again(at(960)), None);
    }

    #[test]
    fn given_a_canceled_kit_then_its_cookie_is_called_off_unless_it_arrived() {
        // Given an ordered cookie, when its kit is canceled, then it is to be called off
        let ordered = Cookie::to_order()
            .took_order("c-1", false, at(0), at(900))
            .unwrap();
        let to_cancel = ordered.cancel().unwrap();
        assert_eq!(
            (to_cancel.status, to_cancel.check_at),
            (CookieStatus::ToCancel, None)
        );
        // And a late "order taken" changes nothing, a second cancel neither
        assert_eq!(to_cancel.took_order("c-1", false, at(1), at(2)), None);
        assert_eq!(to_cancel.cancel(), None);
        // When the contractor calls it off, then it is canceled
        let canceled = to_cancel.called_off(false, at(5)).unwrap();
        assert_eq!(canceled.status, CookieStatus::Canceled);
        assert_eq!(canceled.called_off(false, at(6)), None);
        // When it had been delivered first, then it arrived
        let came = to_cancel.called_off(true, at(5)).unwrap();
        assert_eq!(
            (came.status, came.arrived_at),
            (CookieStatus::Arrived, Some(at(5)))
        );
        // And an arrived cookie is not called off
        assert_eq!(came.cancel(), None);
        assert!(
            Cookie::to_order()
                .order_failed("x")
                .unwrap()
                .cancel()
                .is_some()
        );
    }

    #[test]
    fn every_status_reads_back_from_its_text() {
        for s in [
            CookieStatus::None,
            CookieStatus::ToOrder,
            CookieStatus::Ordered,
            CookieStatus::Arrived,
            CookieStatus::Failed,
            CookieStatus::ToCancel,
            CookieStatus::Canceled,
        ] {
            assert_eq!(CookieStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(CookieStatus::parse("eaten"), None);
    }
}
