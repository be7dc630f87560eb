//! A bet on how one order ends: opened while the order is active, taking stakes until the
//! order leaves active / in progress or the manager's cut-off passes, closed once the order
//! is final.

use chrono::{DateTime, Utc};
use contracts::bets::{BetOpened, Outcome};
use contracts::{AccountId, BetId, OrderId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use service::Refused;

/// An order's status as Ordering answers it (the part Bets reads).
pub use ordering::domain::order::Status as OrderStatus;

/// Where a bet is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BetState {
    /// Taking stakes (while they are not closed), waiting for its order to end.
    Open,
    /// Its order ended and a manager closed it: the payouts are decided, some may not be
    /// booked by Billing yet (a retry of the close or the sweep books the rest).
    Settling,
    /// Every payout booked.
    Settled,
}

impl BetState {
    /// Every state.
    pub const ALL: [BetState; 3] = [BetState::Open, BetState::Settling, BetState::Settled];

    /// The stored and sent name.
    pub fn as_str(self) -> &'static str {
        match self {
            BetState::Open => "open",
            BetState::Settling => "settling",
            BetState::Settled => "settled",
        }
    }
}

impl std::str::FromStr for BetState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        BetState::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| format!("not a bet state: {s:?}"))
    }
}

/// A bet on one order's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Bet {
    pub id: BetId,
    pub order_id: OrderId,
    pub opened_by: AccountId,
    pub opened_at: DateTime<Utc>,
    /// The manager's cut-off: no stake is taken from then on.
    pub stakes_close_at: Option<DateTime<Utc>>,
    /// Seen closed: its order had left active / in progress when a stake came.
    pub stakes_closed: bool,
    pub state: BetState,
    /// How its order ended, once closed.
    pub outcome: Option<Outcome>,
    pub closed_by: Option<AccountId>,
    pub closed_at: Option<DateTime<Utc>>,
    pub settled_at: Option<DateTime<Utc>>,
    /// Aggregate version: the number of events it published.
    pub version: i64,
}

/// Whether an order is taking part in its job right now (a bet may open, stakes are taken).
pub fn is_running(status: OrderStatus) -> bool {
    matches!(status, OrderStatus::Active | OrderStatus::InProgress)
}

/// How an order ended, if it did.
pub fn outcome_of(status: OrderStatus) -> Option<Outcome> {
    match status {
        OrderStatus::Completed => Some(Outcome::Completed),
        OrderStatus::Failed => Some(Outcome::Failed),
        OrderStatus::Canceled => Some(Outcome::Canceled),
        OrderStatus::Requested | OrderStatus::Active | OrderStatus::InProgress => None,
    }
}

/// Why a stake is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StakesClosed {
    /// The bet is closed (settling or settled).
    BetClosed,
    /// The manager's cut-off has passed.
    CutOff,
    /// The order is no longer active or in progress (or was seen so before).
    OrderLeft,
}

impl From<StakesClosed> for Refused {
    fn from(why: StakesClosed) -> Refused {
        let message = match why {
            StakesClosed::BetClosed => "the bet is closed",
            StakesClosed::CutOff => "the bet's cut-off for stakes has passed",
            StakesClosed::OrderLeft => "the order is no longer active: stakes are closed",
        };
        Refused::conflict("stakes_closed", message)
    }
}

impl Bet {
    /// `by` opens a bet on order `order_id`, whose status Ordering just answered, at `now`,
    /// taking stakes until `stakes_close_at` if given. Refused unless the order is active or
    /// in progress (409 `order_not_active`), or with a cut-off not after `now` (422).
    pub fn open(
        order_id: OrderId,
        status: OrderStatus,
        by: AccountId,
        stakes_close_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(Bet, BetOpened), Refused> {
        if !is_running(status) {
            return Err(Refused::conflict(
                "order_not_active",
                format!(
                    "order {order_id} is {}: a bet opens only on an active or in-progress order",
                    status.as_str()
                ),
            ));
        }
        if stakes_close_at.is_some_and(|at| at <= now) {
            return Err(Refused::invalid(
                "stakes_close_at",
                "must be in the future (business time)",
            ));
        }
        let bet = Bet {
            id: BetId::new(),
            order_id,
            opened_by: by,
            opened_at: now,
            stakes_close_at,
            stakes_closed: false,
            state: BetState::Open,
            outcome: None,
            closed_by: None,
            closed_at: None,
            settled_at: None,
            version: 1,
        };
        let event = BetOpened {
            bet_id: bet.id,
            order_id,
            opened_by: by,
            opened_at: now,
            stakes_close_at,
        };
        Ok((bet, event))
    }

    /// Whether a stake is taken at `now`, what Bets knows alone (state, cut-off, an order
    /// seen to leave): asked before Ordering is.
    pub fn takes_stakes(&self, now: DateTime<Utc>) -> Result<(), StakesClosed> {
        if self.state != BetState::Open {
            return Err(StakesClosed::BetClosed);
        }
        if self.stakes_close_at.is_some_and(|at| at <= now) {
            return Err(StakesClosed::CutOff);
        }
        if self.stakes_closed {
            return Err(StakesClosed::OrderLeft);
        }
        Ok(())
    }

    /// Whether a stake is taken given the order's `status` as Ordering answers it now.
    pub fn takes_stakes_on(
        &self,
        status: OrderStatus,
        now: DateTime<Utc>,
    ) -> Result<(), StakesClosed> {
        self.takes_stakes(now)?;
        if is_running(status) {
            Ok(())
        } else {
            Err(StakesClosed::OrderLeft)
        }
    }

    /// The outcome a close settles on, given the order's `status` as Ordering answers it:
    /// refused while the order has not ended (409 `order_not_final`) or when the bet is no
    /// longer open (its settlement is already decided: the caller finishes it instead).
    pub fn closing_outcome(&self, status: OrderStatus) -> Result<Outcome, Refused> {
        outcome_of(status).ok_or_else(|| {
            Refused::conflict(
                "order_not_final",
                format!(
                    "order {} is {}: a bet closes once its order is completed, failed or canceled",
                    self.order_id,
                    status.as_str()
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap()
    }

    fn opened(close_at: Option<DateTime<Utc>>) -> Bet {
        Bet::open(
            OrderId::new(),
            OrderStatus::Active,
            AccountId::new(),
            close_at,
            now(),
        )
        .unwrap()
        .0
    }

    #[test]
    fn given_an_active_or_running_order_when_a_bet_opens_then_it_is_open_with_its_event() {
        for status in [OrderStatus::Active, OrderStatus::InProgress] {
            // Given an order Ordering says is running / When a manager opens a bet on it
            let (order, by) = (OrderId::new(), AccountId::new());
            let (bet, event) = Bet::open(order, status, by, None, now()).unwrap();
            // Then it is open, version 1, and announced
            assert_eq!(
                (bet.state, bet.version, bet.order_id),
                (BetState::Open, 1, order)
            );
            assert_eq!((event.bet_id, event.opened_by), (bet.id, by));
        }
    }

    #[test]
    fn given_an_order_not_running_when_a_bet_opens_then_it_is_refused() {
        for status in [
            OrderStatus::Requested,
            OrderStatus::Completed,
            OrderStatus::Failed,
            OrderStatus::Canceled,
        ] {
            let e = Bet::open(OrderId::new(), status, AccountId::new(), None, now()).unwrap_err();
            assert!(
                matches!(
                    e,
                    Refused::Conflict {
                        code: "order_not_active",
                        ..
                    }
                ),
                "{status:?}: {e:?}"
            );
        }
    }

    #[test]
    fn given_a_cut_off_in_the_past_when_a_bet_opens_then_the_field_is_refused() {
        let e = Bet::open(
            OrderId::new(),
            OrderStatus::Active,
            AccountId::new(),
            Some(now()),
            now(),
        )
        .unwrap_err();
        assert!(matches!(e, Refused::Invalid { ref field, .. } if field == "stakes_close_at"));
    }

    #[test]
    fn given_an_open_bet_when_stakes_come_then_cut_off_order_and_state_close_them() {
        // Given a bet with a cut-off in an hour
        let bet = opened(Some(now() + Duration::hours(1)));
        // When a stake comes before it on a running order / Then it is taken
        assert_eq!(bet.takes_stakes_on(OrderStatus::InProgress, now()), Ok(()));
        // When the cut-off has passed / Then not
        let later = now() + Duration::hours(1);
        assert_eq!(bet.takes_stakes(later), Err(StakesClosed::CutOff));
        // When the order has ended / Then not
        assert_eq!(
            bet.takes_stakes_on(OrderStatus::Completed, now()),
            Err(StakesClosed::OrderLeft)
        );
        // When the bet was seen closed or is settling / Then not
        let seen = Bet {
            stakes_closed: true,
            ..bet.clone()
        };
        assert_eq!(seen.takes_stakes(now()), Err(StakesClosed::OrderLeft));
        let settling = Bet {
            state: BetState::Settling,
            ..bet
        };
        assert_eq!(settling.takes_stakes(now()), Err(StakesClosed::BetClosed));
    }

    #[test]
    fn given_an_open_bet_when_closed_then_only_a_final_order_gives_an_outcome() {
        let bet = opened(None);
        for (status, outcome) in [
            (OrderStatus::Completed, Outcome::Completed),
            (OrderStatus::Failed, Outcome::Failed),
            (OrderStatus::Canceled, Outcome::Canceled),
        ] {
            assert_eq!(bet.closing_outcome(status).unwrap(), outcome);
        }
        for status in [
            OrderStatus::Requested,
            OrderStatus::Active,
            OrderStatus::InProgress,
        ] {
            let e = bet.closing_outcome(status).unwrap_err();
            assert!(matches!(
                e,
                Refused::Conflict {
                    code: "order_not_final",
                    ..
                }
            ));
        }
    }
}
