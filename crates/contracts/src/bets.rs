//! Events published by Bets: a bet opened on an active order, a stake Billing charged (in
//! the pool from then on), a bet settled with its payouts.
//!
//! The aggregate is the bet: opening is version 1, each confirmed stake and the settlement
//! one more.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Event;
use crate::ids::{AccountId, BetId, OrderId, PayoutId, StakeId};
use crate::money::Money;

/// How an order ended, as managers bet on it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    Failed,
    Canceled,
}

impl Outcome {
    /// Every outcome, in the order pools are listed.
    pub const ALL: [Outcome; 3] = [Outcome::Completed, Outcome::Failed, Outcome::Canceled];

    /// The wire name (`completed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::Canceled => "canceled",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| format!("not an outcome: {s:?} (completed, failed or canceled)"))
    }
}

/// A manager opened a bet on an order that was active (or in progress) at the time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BetOpened {
    pub bet_id: BetId,
    pub order_id: OrderId,
    pub opened_by: AccountId,
    /// Business time of the opening.
    pub opened_at: DateTime<Utc>,
    /// The manager's cut-off for stakes, if one was set (stakes also close when the order
    /// leaves active / in progress).
    #[serde(default)]
    pub stakes_close_at: Option<DateTime<Utc>>,
}

impl Event for BetOpened {
    const TYPE: &'static str = "bets.bet.opened";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "bets";
    fn aggregate_id(&self) -> String {
        self.bet_id.to_string()
    }
}

/// Billing charged a manager's stake: it is in the bet's pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StakePlaced {
    pub bet_id: BetId,
    pub stake_id: StakeId,
    pub order_id: OrderId,
    pub manager_id: AccountId,
    pub outcome: Outcome,
    /// Minor units, positive.
    pub amount: Money,
    /// Business time the manager placed it.
    pub placed_at: DateTime<Utc>,
}

impl Event for StakePlaced {
    const TYPE: &'static str = "bets.stake.placed";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "bets";
    fn aggregate_id(&self) -> String {
        self.bet_id.to_string()
    }
}

/// A bet's order ended and every payout of its pool was booked by Billing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BetSettled {
    pub bet_id: BetId,
    pub order_id: OrderId,
    /// How the order ended.
    pub outcome: Outcome,
    /// Every confirmed stake, summed (minor units); the payouts sum to it exactly.
    pub pool: Money,
    /// The manager who closed it.
    pub closed_by: AccountId,
    pub payouts: Vec<SettledPayout>,
    /// Business time the last payout was booked.
    pub settled_at: DateTime<Utc>,
}

/// One payout of a settled bet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SettledPayout {
    pub payout_id: PayoutId,
    /// The winner; `None`: nobody won, the pool went to the developers' fund.
    pub manager_id: Option<AccountId>,
    pub amount: Money,
}

impl Event for BetSettled {
    const TYPE: &'static str = "bets.bet.settled";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "bets";
    fn aggregate_id(&self) -> String {
        self.bet_id.to_string()
    }
}
