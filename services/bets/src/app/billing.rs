//! Billing's side of a bet: charging a stake, booking a payout (a winning, or the unwon
//! pool to the developers' fund), each under its own id as Idempotency-Key, so a retry, a
//! sweep or two replicas moving the same money book it once.

use serde::Serialize;

use super::calls::{BILLING, peer, with_retries};
use crate::App;
use crate::domain::{Payout, Stake};
use crate::error::BetsError;
use contracts::{AccountId, BetId, Money, PayoutId, StakeId};

/// What Billing answered about a stake's charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charge {
    /// Booked: the stake is in the pool.
    Charged,
    /// Refused (no payment account, say), with Billing's reason: never in the pool.
    Refused(String),
}

#[derive(Serialize)]
struct StakeCharge {
    bet_id: BetId,
    stake_id: StakeId,
    manager_id: AccountId,
    amount: Money,
}

#[derive(Serialize)]
struct PayoutBooking {
    bet_id: BetId,
    payout_id: PayoutId,
    #[serde(skip_serializing_if = "Option::is_none")]
    manager_id: Option<AccountId>,
    amount: Money,
}

/// Asks Billing to charge `stake` to its manager (key: the stake's id). A 4xx is Billing's
/// refusal of this stake; no answer after every attempt is Billing's 503.
pub async fn charge_stake(app: &App, stake: &Stake) -> Result<Charge, BetsError> {
    let billing = peer(app, BILLING).await?;
    let body = StakeCharge {
        bet_id: stake.bet_id,
        stake_id: stake.id,
        manager_id: stake.manager_id,
        amount: stake.amount,
    };
    let key = stake.id.to_string();
    let answer = with_retries(app, BILLING, || {
        billing.post_keyed::<_, serde_json::Value>("/bets/stakes", &body, Some(&key))
    })
    .await?;
    match answer {
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
    let billing = peer(app, BILLING).await?;
    let body = PayoutBooking {
        bet_id: payout.bet_id,
        payout_id: payout.id,
        manager_id: payout.manager_id,
        amount: payout.amount,
    };
    let path = if payout.manager_id.is_some() {
        "/bets/payouts"
    } else {
        "/bets/unwon"
    };
    let key = payout.id.to_string();
    let answer = with_retries(app, BILLING, || {
        billing.post_keyed::<_, serde_json::Value>(path, &body, Some(&key))
    })
    .await?;
    answer.map(|_| ()).map_err(|e| {
        web::Unexpected::msg(format!(
            "Billing refused payout {} of bet {}: {e}",
            payout.id, payout.bet_id
        ))
        .into()
    })
}
