//! A manager's stake: recorded pending before Billing is asked to charge it, then
//! confirmed (in the pool) or refused (never in it) by Billing's answer.

use chrono::{DateTime, Utc};
use contracts::bets::{Outcome, StakePlaced};
use contracts::{AccountId, BetId, Money, OrderId, StakeId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use service::Refused;

/// What a manager stakes: an outcome and an amount (minor units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStake {
    pub outcome: Outcome,
    /// Minor units, 1 to `bets.max_stake`.
    pub amount: Money,
}

/// Where a stake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StakeStatus {
    /// Billing has not answered yet (or could not be reached): not in the pool.
    Pending,
    /// Billing charged it: in the pool.
    Confirmed,
    /// Billing refused to charge it: never in the pool.
    Refused,
}

impl StakeStatus {
    /// Every status.
    pub const ALL: [StakeStatus; 3] = [
        StakeStatus::Pending,
        StakeStatus::Confirmed,
        StakeStatus::Refused,
    ];

    /// The stored and sent name.
    pub fn as_str(self) -> &'static str {
        match self {
            StakeStatus::Pending => "pending",
            StakeStatus::Confirmed => "confirmed",
            StakeStatus::Refused => "refused",
        }
    }
}

impl std::str::FromStr for StakeStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        StakeStatus::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| format!("not a stake status: {s:?}"))
    }
}

/// A manager's stake in a bet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Stake {
    pub id: StakeId,
    pub bet_id: BetId,
    pub manager_id: AccountId,
    pub outcome: Outcome,
    pub amount: Money,
    pub status: StakeStatus,
    /// Billing's reason, when it refused the charge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    pub placed_at: DateTime<Utc>,
    /// When Billing's answer was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
}

impl Stake {
    /// `manager` stakes `new` in bet `bet_id` at `now`: pending until Billing answers.
    /// Refused when the amount is not 1 to `max_stake` (422 naming `amount`).
    pub fn place(
        bet_id: BetId,
        manager: AccountId,
        new: &NewStake,
        max_stake: Money,
        now: DateTime<Utc>,
    ) -> Result<Stake, Refused> {
        if new.amount <= Money::zero() || new.amount > max_stake {
            return Err(Refused::invalid(
                "amount",
                format!("must be 1 to {} minor units", max_stake.minor()),
            ));
        }
        Ok(Stake {
            id: StakeId::new(),
            bet_id,
            manager_id: manager,
            outcome: new.outcome,
            amount: new.amount,
            status: StakeStatus::Pending,
            refusal: None,
            placed_at: now,
            resolved_at: None,
        })
    }

    /// Billing charged it at `now`: confirmed, and announced as in `order`'s bet's pool.
    pub fn confirm(&self, order: OrderId, now: DateTime<Utc>) -> (Stake, StakePlaced) {
        let stake = Stake {
            status: StakeStatus::Confirmed,
            resolved_at: Some(now),
            ..self.clone()
        };
        let event = StakePlaced {
            bet_id: stake.bet_id,
            stake_id: stake.id,
            order_id: order,
            manager_id: stake.manager_id,
            outcome: stake.outcome,
            amount: stake.amount,
            placed_at: stake.placed_at,
        };
        (stake, event)
    }

    /// Billing refused the charge at `now`, saying `why`.
    pub fn refuse(&self, why: String, now: DateTime<Utc>) -> Stake {
        Stake {
            status: StakeStatus::Refused,
            refusal: Some(why),
            resolved_at: Some(now),
            ..self.clone()
        }
    }

    /// The refusal a stake Billing refused answers, on the first request and on retries.
    pub fn refused(&self) -> Option<Refused> {
        (self.status == StakeStatus::Refused).then(|| {
            Refused::conflict(
                "stake_refused",
                format!(
                    "Billing did not charge the stake: {}",
                    self.refusal.as_deref().unwrap_or("no reason given")
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap()
    }

    fn stake(amount: i64) -> Result<Stake, Refused> {
        let new = NewStake {
            outcome: Outcome::Completed,
            amount: Money::from_minor(amount),
        };
        Stake::place(
            BetId::new(),
            AccountId::new(),
            &new,
            Money::from_minor(1000),
            now(),
        )
    }

    #[test]
    fn given_an_amount_in_range_when_placed_then_the_stake_is_pending() {
        let s = stake(1000).unwrap();
        assert_eq!(
            (s.status, s.amount),
            (StakeStatus::Pending, Money::from_minor(1000))
        );
        assert!(s.refused().is_none());
    }

    #[test]
    fn given_an_amount_out_of_range_when_placed_then_amount_is_refused() {
        for amount in [0, -5, 1001, i64::MIN] {
            let e = stake(amount).unwrap_err();
            assert!(
                matches!(e, Refused::Invalid { ref field, .. } if field == "amount"),
                "{amount}"
            );
        }
    }

    #[test]
    fn given_a_pending_stake_when_billing_answers_then_it_is_confirmed_or_refused() {
        // Given a pending stake
        let s = stake(300).unwrap();
        // When Billing charged it / Then it is confirmed and announced with its amount
        let order = OrderId::new();
        let (confirmed, event) = s.confirm(order, now());
        assert_eq!(confirmed.status, StakeStatus::Confirmed);
        assert_eq!(
            (event.stake_id, event.order_id, event.amount),
            (s.id, order, s.amount)
        );
        // When Billing refused it / Then it is refused with the reason, answered 409
        let refused = s.refuse("no account".into(), now());
        assert_eq!(refused.status, StakeStatus::Refused);
        assert!(matches!(
            refused.refused(),
            Some(Refused::Conflict {
                code: "stake_refused",
                ..
            })
        ));
    }
}
