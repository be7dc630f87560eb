//! Settling a bet: the winners share the whole pool in proportion to their stakes, in
//! integer minor units, conserving the pool exactly; nobody won, the pool goes to the
//! developers' fund.
//!
//! # The remainder rule
//! Each winning stake `s` of the winning total `W` gets `floor(pool * s / W)` first. Those
//! floors leave `r = pool - sum(floors)` units, fewer than the number of winning stakes.
//! They go one each to the stakes with the largest fractional remainders
//! (`pool * s mod W`); among equal remainders, to the earliest placed stake (then the
//! smaller stake id). So the payouts sum to the pool, every winner gets at least its floor
//! and at most one unit more, and the same stakes always share the same way. Since every
//! winner's `s <= W <= pool`, no winner ever gets less than it staked.

use chrono::{DateTime, Utc};
use contracts::bets::{BetSettled, Outcome, SettledPayout};
use contracts::{AccountId, BetId, Money, PayoutId, StakeId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Bet, Stake, StakeStatus};

/// One payout of a settled bet: a winning stake's share, or the unwon pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Payout {
    /// Billing's key for it: booked once whatever happens.
    pub id: PayoutId,
    pub bet_id: BetId,
    /// The winning stake paid; `None` for the unwon pool.
    pub stake_id: Option<StakeId>,
    /// The winner; `None`: the developers' fund.
    pub manager_id: Option<AccountId>,
    pub amount: Money,
    /// When Billing booked it; `None` while it is still to book.
    pub paid_at: Option<DateTime<Utc>>,
}

/// What closing a bet decided: its outcome, pool and payouts (to book through Billing).
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    pub outcome: Outcome,
    pub pool: Money,
    pub payouts: Vec<Payout>,
}

/// Why a pool cannot be shared: a sum that does not fit (impossible with the configured
/// stake limit, refused rather than wrapped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the pool's sum does not fit in 64 bits")]
pub struct Overflow;

/// `pool` shared among `stakes` (positive amounts, earliest placed first) by the remainder
/// rule of this module: one share per stake, in the same order, summing to `pool`.
/// No stakes or a zero total: nothing shared (empty).
pub fn share_pool(pool: Money, stakes: &[Money]) -> Result<Vec<Money>, Overflow> {
    let total = stakes.iter().try_fold(0i128, |sum, s| {
        sum.checked_add(i128::from(s.minor())).ok_or(Overflow)
    })?;
    if total <= 0 {
        return Ok(Vec::new());
    }
    let pool = i128::from(pool.minor());
    // 128 bits: pool * stake of two i64 never overflows.
    let mut shares: Vec<(i128, i128)> = stakes
        .iter()
        .map(|s| {
            let product = pool * i128::from(s.minor());
            (product / total, product % total)
        })
        .collect();
    let floors: i128 = shares.iter().map(|(floor, _)| floor).sum();
    let leftover = usize::try_from(pool - floors).map_err(|_| Overflow)?;
    let mut by_remainder: Vec<usize> = (0..shares.len()).collect();
    // Largest remainder first; the sort is stable, so equal remainders keep the earliest
    // stake first.
    by_remainder.sort_by(|a, b| shares[*b].1.cmp(&shares[*a].1));
    for i in by_remainder.into_iter().take(leftover) {
        shares[i].0 += 1;
    }
    shares
        .into_iter()
        .map(|(share, _)| {
            i64::try_from(share)
                .map(Money::from_minor)
                .map_err(|_| Overflow)
        })
        .collect()
}

impl Settlement {
    /// Settles `bet` on `outcome` over its `stakes` (every one resolved: the caller asked
    /// Billing about pending ones first; any still pending is left out, as it is not in the
    /// pool). The pool is every confirmed stake; winners are the confirmed stakes on
    /// `outcome`, shared earliest first; nobody won, one payout to the developers' fund.
    pub fn decide(bet: &Bet, outcome: Outcome, stakes: &[Stake]) -> Result<Settlement, Overflow> {
        let mut confirmed: Vec<&Stake> = stakes
            .iter()
            .filter(|s| s.status == StakeStatus::Confirmed)
            .collect();
        confirmed.sort_by_key(|s| (s.placed_at, s.id));
        let pool = confirmed
            .iter()
            .try_fold(Money::zero(), |sum, s| sum.checked_add(s.amount))
            .ok_or(Overflow)?;
        let winners: Vec<&Stake> = confirmed
            .into_iter()
            .filter(|s| s.outcome == outcome)
            .collect();
        let payout = |stake: Option<&Stake>, amount: Money| Payout {
            id: PayoutId::new(),
            bet_id: bet.id,
            stake_id: stake.map(|s| s.id),
            manager_id: stake.map(|s| s.manager_id),
            amount,
            paid_at: None,
        };
        let payouts = if pool == Money::zero() {
            Vec::new()
        } else if winners.is_empty() {
            vec![payout(None, pool)]
        } else {
            let amounts: Vec<Money> = winners.iter().map(|s| s.amount).collect();
            let shares = share_pool(pool, &amounts)?;
            winners
                .iter()
                .zip(shares)
                .map(|(s, share)| payout(Some(s), share))
                .collect()
        };
        Ok(Settlement {
            outcome,
            pool,
            payouts,
        })
    }
}

/// The announcement of `bet` settled (its outcome and closer set) with `payouts`, at `now`.
pub fn settled_event(
    bet: &Bet,
    outcome: Outcome,
    pool: Money,
    closed_by: AccountId,
    payouts: &[Payout],
    now: DateTime<Utc>,
) -> BetSettled {
    BetSettled {
        bet_id: bet.id,
        order_id: bet.order_id,
        outcome,
        pool,
        closed_by,
        payouts: payouts
            .iter()
            .map(|p| SettledPayout {
                payout_id: p.id,
                manager_id: p.manager_id,
                amount: p.amount,
            })
            .collect(),
        settled_at: now,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use contracts::OrderId;
    use proptest::prelude::*;

    use super::*;
    use crate::domain::{NewStake, OrderStatus};

    fn m(minor: i64) -> Money {
        Money::from_minor(minor)
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap()
    }

    fn bet() -> Bet {
        Bet::open(
            OrderId::new(),
            OrderStatus::Active,
            AccountId::new(),
            None,
            now(),
        )
        .unwrap()
        .0
    }

    /// Confirmed stakes of `bet`, placed a second apart in the order given.
    fn stakes(bet: &Bet, placed: &[(Outcome, i64)]) -> Vec<Stake> {
        placed
            .iter()
            .enumerate()
            .map(|(i, (outcome, amount))| {
                let new = NewStake {
                    outcome: *outcome,
                    amount: m(*amount),
                };
                let at = now() + Duration::seconds(i as i64);
                let s = Stake::place(bet.id, AccountId::new(), &new, m(i64::MAX), at).unwrap();
                s.confirm(bet.order_id, at).0
            })
            .collect()
    }

    #[test]
    fn given_three_managers_when_the_order_completes_then_the_two_winners_share_the_pool() {
        // Given 300 and 100 on completed, 200 on failed
        let bet = bet();
        let s = stakes(
            &bet,
            &[
                (Outcome::Completed, 300),
                (Outcome::Failed, 200),
                (Outcome::Completed, 100),
            ],
        );
        // When it settles on completed
        let settled = Settlement::decide(&bet, Outcome::Completed, &s).unwrap();
        // Then the pool of 600 goes 450 / 150 to the winners, nothing to the loser
        assert_eq!(settled.pool, m(600));
        let paid: Vec<_> = settled
            .payouts
            .iter()
            .map(|p| (p.stake_id, p.amount))
            .collect();
        assert_eq!(paid, vec![(Some(s[0].id), m(450)), (Some(s[2].id), m(150))]);
    }

    #[test]
    fn given_shares_with_a_remainder_when_split_then_largest_remainders_then_earliest_get_a_unit() {
        // 10 over 3 equal stakes: 3 each, 1 left: the earliest gets it
        assert_eq!(
            share_pool(m(10), &[m(1), m(1), m(1)]).unwrap(),
            vec![m(4), m(3), m(3)]
        );
        // 100 over 1 / 2 / 4 (of 7): floors 14 / 28 / 57 (remainders 2, 4, 1): 1 left to the 2nd
        assert_eq!(
            share_pool(m(100), &[m(1), m(2), m(4)]).unwrap(),
            vec![m(14), m(29), m(57)]
        );
        // No stakes: nothing
        assert_eq!(share_pool(m(100), &[]).unwrap(), Vec::<Money>::new());
    }

    #[test]
    fn given_nobody_on_the_outcome_when_settled_then_the_pool_goes_to_the_developers_fund() {
        let bet = bet();
        let s = stakes(&bet, &[(Outcome::Completed, 300), (Outcome::Failed, 200)]);
        let settled = Settlement::decide(&bet, Outcome::Canceled, &s).unwrap();
        assert_eq!(settled.payouts.len(), 1);
        let fund = &settled.payouts[0];
        assert_eq!(
            (fund.manager_id, fund.stake_id, fund.amount),
            (None, None, m(500))
        );
    }

    #[test]
    fn given_pending_and_refused_stakes_when_settled_then_they_are_not_in_the_pool() {
        // Given a confirmed winner, a refused stake on the same outcome and a pending one
        let bet = bet();
        let mut s = stakes(
            &bet,
            &[(Outcome::Completed, 100), (Outcome::Completed, 900)],
        );
        s[1] = s[1].refuse("no account".into(), now());
        let mut pending = s[0].clone();
        pending.id = StakeId::new();
        pending.status = StakeStatus::Pending;
        s.push(pending);
        // When settled / Then only the confirmed stake is in the pool and paid
        let settled = Settlement::decide(&bet, Outcome::Completed, &s).unwrap();
        assert_eq!(settled.pool, m(100));
        assert_eq!(settled.payouts.len(), 1);
        assert_eq!(settled.payouts[0].amount, m(100));
    }

    #[test]
    fn given_no_stakes_when_settled_then_there_is_nothing_to_pay() {
        let bet = bet();
        let settled = Settlement::decide(&bet, Outcome::Failed, &[]).unwrap();
        assert_eq!((settled.pool, settled.payouts.len()), (Money::zero(), 0));
    }

    proptest! {
        #[test]
        fn any_stakes_and_outcome_pay_out_the_whole_pool_and_each_winner_at_least_its_floor(
            placed in proptest::collection::vec((0usize..3, 1i64..=1_000_000_000_000), 0..40),
            outcome in 0usize..3,
        ) {
            // Given any confirmed stakes on any outcomes
            let bet = bet();
            let placed: Vec<(Outcome, i64)> =
                placed.into_iter().map(|(o, a)| (Outcome::ALL[o], a)).collect();
            let s = stakes(&bet, &placed);
            // When the order ends on any outcome
            let outcome = Outcome::ALL[outcome];
            let settled = Settlement::decide(&bet, outcome, &s).unwrap();
            // Then the payouts sum to the pool exactly
            let pool: i128 = placed.iter().map(|(_, a)| i128::from(*a)).sum();
            prop_assert_eq!(i128::from(settled.pool.minor()), pool);
            let paid: i128 = settled.payouts.iter().map(|p| i128::from(p.amount.minor())).sum();
            prop_assert_eq!(paid, pool);
            // And each winner gets at least floor(pool * stake / winning total), at most 1 more
            let winning: i128 = placed
                .iter()
                .filter(|(o, _)| *o == outcome)
                .map(|(_, a)| i128::from(*a))
                .sum();
            for p in &settled.payouts {
                match p.stake_id {
                    Some(id) => {
                        let stake = s.iter().find(|x| x.id == id).unwrap();
                        prop_assert_eq!(stake.outcome, outcome);
                        let floor = pool * i128::from(stake.amount.minor()) / winning;
                        let got = i128::from(p.amount.minor());
                        prop_assert!(got >= floor && got <= floor + 1, "{} vs floor {}", got, floor);
                        prop_assert!(got >= i128::from(stake.amount.minor()));
                    }
                    None => prop_assert_eq!(winning, 0),
                }
            }
        }
    }
}
