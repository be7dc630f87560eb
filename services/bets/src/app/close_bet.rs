use contracts::{AccountId, BetId};
use service::Refused;

use super::calls::{BILLING, order_status};
use super::{BetView, finish_settling, resolve_stake};
use crate::App;
use crate::domain::{BetState, Settlement, StakeStatus};
use crate::error::BetsError;
use crate::store;

/// `who` closes bet `id` once Ordering says its order ended (409 `order_not_final`
/// before).
///
/// In steps, each safe to repeat: stakes are closed; every stake still pending is resolved
/// with Billing (the same key: charged once); the settlement is decided and recorded with
/// the bet `settling` (one transaction: its payouts are decided once); then each payout is
/// booked through Billing under its own id. Billing unreachable at any step: 503, and what
/// was recorded stays; closing again (or the sweep) goes on from there, so every payout is
/// booked exactly once. A settled bet is answered as it is.
pub async fn close_bet(app: &App, who: AccountId, id: BetId) -> Result<BetView, BetsError> {
    let bet = {
        let mut conn = app.ctx.db.pool().acquire().await?;
        store::bet(&mut conn, id)
            .await?
            .ok_or(Refused::NotFound("bet"))?
    };
    if bet.state == BetState::Open {
        let status = order_status(app, bet.order_id).await?;
        let outcome = bet.closing_outcome(status)?;
        close_stakes(app, id).await?;
        let stakes = {
            let mut conn = app.ctx.db.pool().acquire().await?;
            store::stakes_of_bet(&mut conn, id).await?
        };
        for stake in stakes
            .into_iter()
            .filter(|s| s.status == StakeStatus::Pending)
        {
            resolve_stake(app, stake).await?;
        }
        decide(app, who, id, outcome).await?;
    }
    finish_settling(app, id).await?;
    super::bet_view(app, id).await
}

/// Stakes of bet `id` closed: no stake is recorded from now on, so the pending ones
/// resolved next are all there will be.
async fn close_stakes(app: &App, id: BetId) -> Result<(), BetsError> {
    let mut work = app.ctx.begin().await?;
    let mut bet = store::lock_bet(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("bet"))?;
    if bet.state == BetState::Open && !bet.stakes_closed {
        bet.stakes_closed = true;
        store::save_bet(&mut work, &bet).await?;
    }
    work.commit().await?;
    Ok(())
}

/// The settlement of bet `id` on `outcome`, decided and recorded once: the bet `settling`
/// with its payouts. Nothing happens when another close decided it first.
async fn decide(
    app: &App,
    who: AccountId,
    id: BetId,
    outcome: contracts::bets::Outcome,
) -> Result<(), BetsError> {
    let now = super::now(app);
    let mut work = app.ctx.begin().await?;
    let mut bet = store::lock_bet(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("bet"))?;
    if bet.state != BetState::Open {
        work.rollback().await?;
        return Ok(());
    }
    let stakes = store::stakes_of_bet(&mut work, id).await?;
    if let Some(pending) = stakes.iter().find(|s| s.status == StakeStatus::Pending) {
        // Stakes closed before they were resolved, so none can be new: Billing's answer
        // about this one was not recorded (its request is still running).
        return Err(BetsError::PeerUnavailable {
            peer: BILLING,
            detail: format!("stake {} is still pending", pending.id),
        });
    }
    let settlement = Settlement::decide(&bet, outcome, &stakes).map_err(web::Unexpected::from)?;
    bet.state = BetState::Settling;
    bet.outcome = Some(settlement.outcome);
    bet.closed_by = Some(who);
    bet.closed_at = Some(now);
    store::save_bet(&mut work, &bet).await?;
    store::insert_payouts(&mut work, &settlement.payouts).await?;
    work.commit().await?;
    Ok(())
}
