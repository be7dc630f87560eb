//! Bets' money (Bets calls Billing synchronously with its service token): a manager's
//! stake charged into the bet pool, a winner's share paid from it, an unwon pool moved to
//! the developers' fund. Each is keyed by Bets' own id (the stake's, the payout's), so a
//! retry or a second replica moves nothing twice, and all of a bet's entries link to the
//! bet, so its pool is known: payouts never take more than its stakes put in.

use chrono::{DateTime, Utc};
use contracts::{AccountId, BetId, Money};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use service::Refused;

use super::ledger::{
    Actor, Cause, CauseKind, CompanyAccount, Entry, EntryHead, EntryId, EntryKind, LedgerAccount,
};

/// Charge a manager's stake: `manager_id` debited, the bet pool credited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StakeCharge {
    pub bet_id: BetId,
    /// Bets' id of the stake: the entry is `bet_stake:<stake_id>`.
    pub stake_id: uuid::Uuid,
    pub manager_id: AccountId,
    /// Minor units, at least 1.
    pub amount: Money,
}

/// Pay a winner's share of a bet's pool: the pool debited, `manager_id` credited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Winning {
    pub bet_id: BetId,
    /// Bets' id of the payout: the entry is `bet_winning:<payout_id>`.
    pub payout_id: uuid::Uuid,
    pub manager_id: AccountId,
    /// Minor units, at least 1.
    pub amount: Money,
}

/// Move what nobody won of a bet's pool to the developers' fund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Unwon {
    pub bet_id: BetId,
    /// Bets' id of the payout: the entry is `bet_unwon:<payout_id>`.
    pub payout_id: uuid::Uuid,
    /// Minor units, at least 1.
    pub amount: Money,
}

/// What was booked for Bets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BetBooking {
    pub entry_id: EntryId,
    pub kind: EntryKind,
    pub bet_id: BetId,
    pub amount: Money,
    pub booked_at: DateTime<Utc>,
}

const POOL: LedgerAccount = LedgerAccount::Company(CompanyAccount::BetPool);
const FUND: LedgerAccount = LedgerAccount::Company(CompanyAccount::DevelopersFund);

fn positive(amount: Money) -> Result<(), Refused> {
    if amount <= Money::zero() {
        return Err(Refused::invalid("amount", "must be at least 1 minor unit"));
    }
    Ok(())
}

/// What a bet's pool holds: what its entries credited to the pool, less what they took.
/// `pool_postings` is the sum of the bet's postings to the pool (credits are negative).
pub fn pool_holds(pool_postings: Money) -> Money {
    Money::zero()
        .checked_sub(pool_postings)
        .unwrap_or(Money::zero())
}

/// A payout of `amount` from a pool holding `holds`: refused (409 `pool_exceeded`) when
/// the pool does not hold that much.
pub fn check_pool(amount: Money, holds: Money) -> Result<(), Refused> {
    if amount > holds {
        return Err(Refused::conflict(
            "pool_exceeded",
            format!(
                "the bet's pool holds {} minor units, less than {}",
                holds.minor(),
                amount.minor()
            ),
        ));
    }
    Ok(())
}

fn head(
    kind: EntryKind,
    key: uuid::Uuid,
    bet: BetId,
    reason: String,
    actor: AccountId,
    now: DateTime<Utc>,
) -> EntryHead {
    EntryHead {
        id: EntryId::of(kind, key),
        kind,
        reason,
        actor: Actor::Account(actor),
        cause: Cause {
            kind: CauseKind::Bet,
            id: bet.to_string(),
            event_id: None,
        },
        booked_at: now,
    }
}

fn booking(entry: &Entry, bet_id: BetId, amount: Money) -> BetBooking {
    BetBooking {
        entry_id: entry.id().clone(),
        kind: entry.head.kind,
        bet_id,
        amount,
        booked_at: entry.head.booked_at,
    }
}

impl StakeCharge {
    /// The stake's entry, booked by `caller` (Bets' account) at `now`.
    pub fn entry(&self, caller: AccountId, now: DateTime<Utc>) -> Result<Entry, Refused> {
        positive(self.amount)?;
        let head = head(
            EntryKind::BetStake,
            self.stake_id,
            self.bet_id,
            format!("stake in bet {}", self.bet_id),
            caller,
            now,
        );
        Entry::transfer(
            head,
            LedgerAccount::Manager(self.manager_id),
            POOL,
            self.amount,
        )
        .map_err(|e| Refused::invalid("amount", e.to_string()))
    }

    pub fn booked(&self, entry: &Entry) -> BetBooking {
        booking(entry, self.bet_id, self.amount)
    }
}

impl Winning {
    /// The winning's entry, booked by `caller` at `now`.
    pub fn entry(&self, caller: AccountId, now: DateTime<Utc>) -> Result<Entry, Refused> {
        positive(self.amount)?;
        let head = head(
            EntryKind::BetWinning,
            self.payout_id,
            self.bet_id,
            format!("won in bet {}", self.bet_id),
            caller,
            now,
        );
        Entry::transfer(
            head,
            POOL,
            LedgerAccount::Manager(self.manager_id),
            self.amount,
        )
        .map_err(|e| Refused::invalid("amount", e.to_string()))
    }

    pub fn booked(&self, entry: &Entry) -> BetBooking {
        booking(entry, self.bet_id, self.amount)
    }
}

impl Unwon {
    /// The unwon pool's entry, booked by `caller` at `now`.
    pub fn entry(&self, caller: AccountId, now: DateTime<Utc>) -> Result<Entry, Refused> {
        positive(self.amount)?;
        let head = head(
            EntryKind::BetUnwon,
            self.payout_id,
            self.bet_id,
            format!(
                "nobody won bet {}: its pool to the developers' fund",
                self.bet_id
            ),
            caller,
            now,
        );
        Entry::transfer(head, POOL, FUND, self.amount)
            .map_err(|e| Refused::invalid("amount", e.to_string()))
    }

    pub fn booked(&self, entry: &Entry) -> BetBooking {
        booking(entry, self.bet_id, self.amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_stake_then_the_manager_is_debited_and_the_pool_credited() {
        let stake = StakeCharge {
            bet_id: BetId::new(),
            stake_id: uuid::Uuid::now_v7(),
            manager_id: AccountId::new(),
            amount: Money::from_minor(300),
        };
        let entry = stake.entry(AccountId::new(), DateTime::UNIX_EPOCH).unwrap();
        assert_eq!(
            entry.amount_for(LedgerAccount::Manager(stake.manager_id)),
            Money::from_minor(300)
        );
        assert_eq!(entry.amount_for(POOL), Money::from_minor(-300));
        assert_eq!(entry.id().as_str(), format!("bet_stake:{}", stake.stake_id));
        assert_eq!(entry.head.cause.id, stake.bet_id.to_string());
    }

    #[test]
    fn given_no_amount_then_every_bet_booking_is_refused_naming_it() {
        let (bet, key, who) = (BetId::new(), uuid::Uuid::now_v7(), AccountId::new());
        for amount in [0, -1] {
            let amount = Money::from_minor(amount);
            let refusals = [
                StakeCharge {
                    bet_id: bet,
                    stake_id: key,
                    manager_id: who,
                    amount,
                }
                .entry(who, DateTime::UNIX_EPOCH),
                Winning {
                    bet_id: bet,
                    payout_id: key,
                    manager_id: who,
                    amount,
                }
                .entry(who, DateTime::UNIX_EPOCH),
                Unwon {
                    bet_id: bet,
                    payout_id: key,
                    amount,
                }
                .entry(who, DateTime::UNIX_EPOCH),
            ];
            for r in refusals {
                assert!(matches!(r, Err(Refused::Invalid { ref field, .. }) if field == "amount"));
            }
        }
    }

    #[test]
    fn given_a_pool_then_payouts_take_at_most_what_it_holds() {
        // Stakes of 300 and 200 credited the pool -500: it holds 500
        let holds = pool_holds(Money::from_minor(-500));
        assert_eq!(holds, Money::from_minor(500));
        assert!(check_pool(Money::from_minor(500), holds).is_ok());
        let refused = check_pool(Money::from_minor(501), holds).unwrap_err();
        assert!(matches!(
            refused,
            Refused::Conflict {
                code: "pool_exceeded",
                ..
            }
        ));
    }
}
