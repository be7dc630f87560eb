use contracts::{BetId, Envelope, Money};
use service::Refused;

use super::billing::book_payout;
use crate::App;
use crate::domain::BetState;
use crate::domain::settlement::settled_event;
use crate::error::BetsError;
use crate::store::{self, Which};

/// Books every payout of settling bet `id` not booked yet through Billing (each under its
/// own id: a payout booked before and not recorded is not booked again), recording each as
/// it is booked; once all are, the bet is settled and `bets.bet.settled` published. A bet
/// not settling is left as it is. Billing unreachable: its 503, the rest for later.
pub async fn finish_settling(app: &App, id: BetId) -> Result<(), BetsError> {
    let (bet, payouts) = {
        let mut conn = app.ctx.db.pool().acquire().await?;
        let bet = store::bet(&mut conn, id)
            .await?
            .ok_or(Refused::NotFound("bet"))?;
        let payouts = store::payouts(&mut conn, Which::Bet(id)).await?;
        (bet, payouts.into_values().flatten().collect::<Vec<_>>())
    };
    if bet.state != BetState::Settling {
        return Ok(());
    }
    for payout in payouts.iter().filter(|p| p.paid_at.is_none()) {
        book_payout(app, payout).await?;
        let mut work = app.ctx.begin().await?;
        store::mark_paid(&mut work, payout.id, super::now(app)).await?;
        work.commit().await?;
    }
    let now = super::now(app);
    let mut work = app.ctx.begin().await?;
    let mut bet = store::lock_bet(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("bet"))?;
    let (Some(outcome), Some(closed_by), BetState::Settling) =
        (bet.outcome, bet.closed_by, bet.state)
    else {
        // Settled by another close or the sweep since it was read.
        work.rollback().await?;
        return Ok(());
    };
    let pool = payouts
        .iter()
        .try_fold(Money::zero(), |sum, p| sum.checked_add(p.amount))
        .ok_or_else(|| web::Unexpected::msg(format!("bet {id}: the payouts overflow")))?;
    bet.state = BetState::Settled;
    bet.settled_at = Some(now);
    bet.version += 1;
    store::save_bet(&mut work, &bet).await?;
    let event = settled_event(&bet, outcome, pool, closed_by, &payouts, now);
    work.publish(&Envelope::new(&event, bet.version, None))
        .await?;
    work.commit().await?;
    Ok(())
}
