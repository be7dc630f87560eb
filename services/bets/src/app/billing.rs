//! Billing's side of a bet, through Billing's typed client: charging a stake, booking a
//! payout (a winning, or the unwon pool to the developers' fund), each under its own id as
//! Idempotency-Key, so a retry, a sweep or two replicas moving the same money book it once.

use billing::client::{BillingClient, StakeCharge, Unwon, Winning};

use super::calls::{BILLING, peer, with_retries};
use crate::App;
use crate::domain::{Payout, Stake};
use crate::error::BetsError;

/// What Billing answered about a stake's charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charge {
    /// Booked: the stake is in the pool.
    Charged,
    /// Refused (no payment account, say), with Billing's reason: never in the pool.
    Refused(String),
}

/// Asks Billing to charge `stake` to its manager (key: the stake's id). A 4xx is Billing's
/// refusal of this stake; no answer after every attempt is Billing's 503.
pub async fn charge_stake(app: &App, stake: &Stake) -> Result<Charge, BetsError> {
    let billing = BillingClient(peer(app, BILLING).await?);
    let charge = StakeCharge {
        bet_id: stake.bet_id,
        stake_id: *stake.id.as_uuid(),
        manager_id: stake.manager_id,
        amount: stake.amount,
    };
    let key = stake.id.to_string();
    match with_retries(app, BILLING, || billing.charge_stake(&charge, &key)).await? {
        Ok(_) => Ok(Charge::Charged),
        Err(e) => Ok(Charge::Refused(e.problem().map_or_else(
            || e.to_string(),
            |p| format!("{} ({})", p.detail, p.code),
        ))),
    }
}

/// Asks Billing to book `payout` (key: the payout's id): a winning to its manager, or the
/// unwon pool to the developers' fund. Billing refusing it is not the caller's doing (a
/// payout is decided from charged stakes), so it is unexpected: logged, left unpaid, tried
/// again by the sweep.
pub async fn book_payout(app: &App, payout: &Payout) -> Result<(), BetsError> {
    let billing = BillingClient(peer(app, BILLING).await?);
    let key = payout.id.to_string();
    let payout_id = *payout.id.as_uuid();
    let answer = match payout.manager_id {
        Some(manager_id) => {
            let winning = Winning {
                bet_id: payout.bet_id,
                payout_id,
                manager_id,
                amount: payout.amount,
            };
            with_retries(app, BILLING, || billing.pay_winning(&winning, &key)).await?
        }
        None => {
            let unwon = Unwon {
                bet_id: payout.bet_id,
                payout_id,
                amount: payout.amount,
            };
            with_retries(app, BILLING, || billing.move_unwon(&unwon, &key)).await?
        }
    };
    answer.map(|_| ()).map_err(|e| {
        web::Unexpected::msg(format!(
            "Billing refused payout {} of bet {}: {e}",
            payout.id, payout.bet_id
        ))
        .into()
    })
}
