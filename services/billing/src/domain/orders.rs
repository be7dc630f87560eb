//! What an order's events move: the client's charge when it becomes active (less the
//! loyalty discount), the worker's share when it is completed, the worker's penalty when it
//! failed through the worker's fault.
//!
//! # Units
//! Every amount is in minor units, as `Money` and Ordering's prices are (a default order
//! costs 100). The spec's figures are read in the same unit as the prices they sit beside:
//! "over 10k" is over 10 000 minor units paid (a hundred default orders), the penalty is 40
//! minor units (40 % of a default order).
//!
//! # The loyalty discount
//! By what the client has **paid** so far: the sum of its collected invoices (entries of
//! kind `collection` on its account), not what it was charged: an invoice that failed at
//! the bank earns nothing. Nothing up to 10 000; 5 % above 10 000; one point more above
//! each further 10 000 (6 % above 20 000, 7 % above 30 000, ...); at most 12 % (above
//! 80 000). "Above" is strict: exactly 10 000 paid still gets nothing.
//!
//! # Rounding
//! The discount is the percentage of the price rounded to the nearest minor unit, halves
//! up (in the client's favour: 5 % of 110 is 5.5, so 6 off); the charge is the price less
//! the discount, so the discount and the charge always add up to the price. A worker's
//! share is 60 % of the order's full price (the discount is MCF's, not the worker's),
//! rounded to the nearest minor unit, halves up (60 % of a whole number of minor units
//! never ends in a half, so this is plain nearest).
//!
//! # What else
//! A completed, canceled (after activation) or failed order's charge stands: the client
//! pays in full whatever happens after activation. A canceled order earns its worker
//! nothing (no entry); a failed one costs the worker the penalty only when the worker is
//! at fault (`OrderFailed::worker_at_fault`: a no-show; not when the kit was never issued).

use chrono::{DateTime, Utc};
use contracts::ordering::{OrderActivated, OrderCompleted, OrderFailed};
use contracts::{Money, OrderId, WorkerId};
use serde::{Deserialize, Serialize};

use super::ledger::{
    Actor, Cause, CompanyAccount, Entry, EntryHead, EntryId, EntryKind, LedgerAccount, LedgerError,
};

/// The loyalty discount table (`[billing]` `loyalty_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoyaltyTable {
    /// Nothing up to this total paid.
    pub first_step: Money,
    /// One more percent above each further step of this size.
    pub step: Money,
    /// The percent just above the first step.
    pub first_percent: i64,
    /// Never more than this.
    pub max_percent: i64,
}

impl Default for LoyaltyTable {
    /// The spec's table: 5 % above 10 000, +1 per further 10 000, at most 12 %.
    fn default() -> Self {
        LoyaltyTable {
            first_step: Money::from_minor(10_000),
            step: Money::from_minor(10_000),
            first_percent: 5,
            max_percent: 12,
        }
    }
}

impl LoyaltyTable {
    /// The discount, in percent, for a client who has paid `paid` so far.
    pub fn percent(&self, paid: Money) -> i64 {
        if paid <= self.first_step || self.step.minor() <= 0 {
            return 0;
        }
        // paid > first_step >= 0 here, so the difference is at least 1 and fits.
        let above = paid.minor() - self.first_step.minor() - 1;
        let further_steps = above / self.step.minor();
        self.first_percent
            .saturating_add(further_steps)
            .min(self.max_percent)
    }
}

/// An active order's charge to its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// The order's price.
    pub price: Money,
    /// The loyalty discount's percent.
    pub discount_percent: i64,
    /// The discount (price - amount).
    pub discount: Money,
    /// What the client is charged.
    pub amount: Money,
}

/// Why an order's money cannot be booked: an event Ordering should never send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderMoneyError {
    #[error("the order's price {0} is negative")]
    NegativePrice(Money),
    #[error("the order has no price")]
    NoPrice,
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl Charge {
    /// `price` less the discount for a client who has paid `paid`, as the module says.
    pub fn of(price: Money, paid: Money, table: &LoyaltyTable) -> Result<Charge, OrderMoneyError> {
        if price.is_negative() {
            return Err(OrderMoneyError::NegativePrice(price));
        }
        let discount_percent = table.percent(paid);
        let discount = price
            .percent(discount_percent)
            .ok_or(LedgerError::Overflow)?;
        let amount = price.checked_sub(discount).ok_or(LedgerError::Overflow)?;
        Ok(Charge {
            price,
            discount_percent,
            discount,
            amount,
        })
    }
}

/// The head of order `order`'s entry of `kind` (`<kind>:<order id>`), booked by Billing on
/// the event `event_id`.
fn order_head(
    kind: EntryKind,
    order: OrderId,
    reason: String,
    event_id: uuid::Uuid,
    now: DateTime<Utc>,
) -> EntryHead {
    EntryHead {
        id: EntryId::of(kind, order),
        kind,
        reason,
        actor: Actor::Billing,
        cause: Cause::order(order, Some(event_id)),
        booked_at: now,
    }
}

/// The client's charge for the order `activated` announces, as entry
/// `client_charge:<order>`: the client debited, revenue credited. `None` for a free order
/// (nothing to book).
pub fn client_charge(
    activated: &OrderActivated,
    charge: &Charge,
    event_id: uuid::Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Entry>, OrderMoneyError> {
    if charge.amount == Money::zero() {
        return Ok(None);
    }
    let reason = if charge.discount_percent > 0 {
        format!(
            "order {} ({}) active: price {} less {} % loyalty discount ({})",
            activated.order_id,
            activated.service_type_name,
            charge.price,
            charge.discount_percent,
            charge.discount
        )
    } else {
        format!(
            "order {} ({}) active: price {}",
            activated.order_id, activated.service_type_name, charge.price
        )
    };
    let head = order_head(
        EntryKind::ClientCharge,
        activated.order_id,
        reason,
        event_id,
        now,
    );
    Ok(Some(Entry::transfer(
        head,
        LedgerAccount::Client(activated.client_id),
        LedgerAccount::Company(CompanyAccount::Revenue),
        charge.amount,
    )?))
}

/// The worker's share of a completed order, as entry `worker_earning:<order>`: the cost
/// debited, the worker credited. `None` when there is nothing to book (no worker, or a
/// share of nothing).
pub fn worker_earning(
    completed: &OrderCompleted,
    share_percent: i64,
    event_id: uuid::Uuid,
    now: DateTime<Utc>,
) -> Result<Option<(WorkerId, Entry)>, OrderMoneyError> {
    let order = &completed.order;
    let Some(worker) = order.worker_id else {
        return Ok(None);
    };
    let price = order.price.ok_or(OrderMoneyError::NoPrice)?;
    if price.is_negative() {
        return Err(OrderMoneyError::NegativePrice(price));
    }
    let share = price.percent(share_percent).ok_or(LedgerError::Overflow)?;
    if share == Money::zero() {
        return Ok(None);
    }
    let reason = format!(
        "order {} ({}) completed: {share_percent} % of {price}",
        order.order_id, order.service_type_name
    );
    let head = order_head(
        EntryKind::WorkerEarning,
        order.order_id,
        reason,
        event_id,
        now,
    );
    let entry = Entry::transfer(
        head,
        LedgerAccount::Company(CompanyAccount::WorkerEarnings),
        LedgerAccount::Worker(worker),
        share,
    )?;
    Ok(Some((worker, entry)))
}

/// The penalty of a worker at fault for a failed order, as entry `worker_penalty:<order>`:
/// the worker debited, penalties credited. `None` when nobody is to blame (not matched, the
/// kit never issued) or the penalty is nothing.
pub fn worker_penalty(
    failed: &OrderFailed,
    penalty: Money,
    event_id: uuid::Uuid,
    now: DateTime<Utc>,
) -> Result<Option<(WorkerId, Entry)>, OrderMoneyError> {
    let order = &failed.order;
    let Some(worker) = order.worker_id else {
        return Ok(None);
    };
    if !failed.worker_at_fault() || penalty <= Money::zero() {
        return Ok(None);
    }
    let reason = format!(
        "order {} ({}) failed ({}): penalty {penalty}",
        order.order_id, order.service_type_name, failed.reason
    );
    let head = order_head(
        EntryKind::WorkerPenalty,
        order.order_id,
        reason,
        event_id,
        now,
    );
    let entry = Entry::transfer(
        head,
        LedgerAccount::Worker(worker),
        LedgerAccount::Company(CompanyAccount::Penalties),
        penalty,
    )?;
    Ok(Some((worker, entry)))
}

#[cfg(test)]
mod tests {
    use contracts::ordering::OrderFacts;
    use contracts::{AccountId, OrderId, ServiceTypeId};
    use proptest::prelude::*;

    use super::*;

    fn m(minor: i64) -> Money {
        Money::from_minor(minor)
    }

    #[test]
    fn given_totals_paid_at_every_boundary_then_the_discount_follows_the_table() {
        let table = LoyaltyTable::default();
        for (paid, percent) in [
            (0, 0),
            (9_999, 0),
            (10_000, 0),
            (10_001, 5),
            (19_999, 5),
            (20_000, 5),
            (20_001, 6),
            (29_999, 6),
            (30_000, 6),
            (30_001, 7),
            (40_000, 7),
            (40_001, 8),
            (50_001, 9),
            (60_001, 10),
            (70_000, 10),
            (70_001, 11),
            (80_000, 11),
            (80_001, 12),
            (90_001, 12),
            (1_000_000_000, 12),
            (i64::MAX, 12),
            (-5, 0),
        ] {
            assert_eq!(table.percent(m(paid)), percent, "paid {paid}");
        }
    }

    #[test]
    fn given_a_discount_with_a_half_then_it_rounds_in_the_clients_favour() {
        let table = LoyaltyTable::default();
        // 5 % of 110 is 5.5: 6 off, 104 charged
        let charge = Charge::of(m(110), m(10_001), &table).unwrap();
        assert_eq!((charge.discount, charge.amount), (m(6), m(104)));
        // 6 % of 100 is exactly 6
        let charge = Charge::of(m(100), m(20_001), &table).unwrap();
        assert_eq!((charge.discount, charge.amount), (m(6), m(94)));
        // 12 % of 101 is 12.12: 12 off
        let charge = Charge::of(m(101), m(i64::MAX), &table).unwrap();
        assert_eq!((charge.discount, charge.amount), (m(12), m(89)));
        // Nothing paid: the full price
        assert_eq!(Charge::of(m(100), m(0), &table).unwrap().amount, m(100));
        assert_eq!(
            Charge::of(m(-1), m(0), &table),
            Err(OrderMoneyError::NegativePrice(m(-1)))
        );
    }

    fn facts(price: i64, worker: Option<WorkerId>) -> OrderFacts {
        OrderFacts {
            order_id: OrderId::new(),
            client_id: AccountId::new(),
            worker_id: worker,
            price: Some(m(price)),
            service_type_id: ServiceTypeId::new(),
            service_type_name: "Cleaning".into(),
            scheduled_at: DateTime::UNIX_EPOCH,
            duration_minutes: 60,
            rebook_of: None,
        }
    }

    fn completed(price: i64, worker: Option<WorkerId>) -> OrderCompleted {
        OrderCompleted {
            order: facts(price, worker),
            checked_in_at: DateTime::UNIX_EPOCH,
            completed_at: DateTime::UNIX_EPOCH,
            report_photo: "r".into(),
        }
    }

    fn failed(reason: &str, at_fault: Option<bool>) -> OrderFailed {
        OrderFailed {
            order: facts(100, Some(WorkerId::new())),
            from_status: "active".into(),
            reason: reason.into(),
            worker_at_fault: at_fault,
            deadline: DateTime::UNIX_EPOCH,
            failed_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn given_a_completed_order_then_its_worker_earns_sixty_percent_rounded() {
        let event = uuid::Uuid::now_v7();
        for (price, share) in [(100, 60), (101, 61), (99, 59), (1, 1), (3, 2), (0, 0)] {
            let done = completed(price, Some(WorkerId::new()));
            let earned = worker_earning(&done, 60, event, DateTime::UNIX_EPOCH).unwrap();
            match earned {
                Some((worker, entry)) => {
                    assert_eq!(entry.amount_for(LedgerAccount::Worker(worker)), m(-share));
                    assert_eq!(
                        entry.id().as_str(),
                        format!("worker_earning:{}", done.order.order_id)
                    );
                }
                None => assert_eq!(share, 0, "price {price}"),
            }
        }
        // No worker: nothing to book
        let nobody = completed(100, None);
        assert_eq!(
            worker_earning(&nobody, 60, event, DateTime::UNIX_EPOCH),
            Ok(None)
        );
    }

    #[test]
    fn given_a_failed_order_then_only_a_worker_at_fault_is_penalized() {
        let event = uuid::Uuid::now_v7();
        let penalty = m(40);
        // A no-show (the field, or an older event without it): the penalty
        for f in [failed("no_show", Some(true)), failed("no_show", None)] {
            let (worker, entry) = worker_penalty(&f, penalty, event, DateTime::UNIX_EPOCH)
                .unwrap()
                .unwrap();
            assert_eq!(entry.amount_for(LedgerAccount::Worker(worker)), m(40));
        }
        // The kit was never issued, or nobody was matched: nothing
        for f in [
            failed("kit_not_ready", Some(false)),
            failed("kit_not_ready", None),
        ] {
            assert_eq!(
                worker_penalty(&f, penalty, event, DateTime::UNIX_EPOCH),
                Ok(None)
            );
        }
        let mut unmatched = failed("not_matched", Some(false));
        unmatched.order.worker_id = None;
        assert_eq!(
            worker_penalty(&unmatched, penalty, event, DateTime::UNIX_EPOCH),
            Ok(None)
        );
    }

    proptest! {
        /// Discount and charge add up to the price; the charge is never negative; the
        /// percent is one of the table's and never falls as the total paid grows.
        #[test]
        fn charges_follow_the_discount_table(price in 0i64..10_000_000, paid in 0i64..200_000, more in 0i64..50_000) {
            let table = LoyaltyTable::default();
            let charge = Charge::of(m(price), m(paid), &table).unwrap();
            prop_assert_eq!(charge.discount.minor() + charge.amount.minor(), price);
            prop_assert!(charge.amount.minor() >= 0);
            let expected = if paid <= 10_000 { 0 } else { (5 + (paid - 10_001) / 10_000).min(12) };
            prop_assert_eq!(charge.discount_percent, expected);
            prop_assert!(table.percent(m(paid + more)) >= charge.discount_percent);
            // The discount is the percent of the price, to the nearest unit, halves up
            let exact_times_100 = price * charge.discount_percent;
            prop_assert!((charge.discount.minor() * 100 - exact_times_100).abs() <= 50);
        }
    }
}
