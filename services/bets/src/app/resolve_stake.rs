//! A pending stake resolved: Billing asked to charge it (again: the same key books it
//! once), its answer recorded. The one path for the manager's request, its retry, the
//! sweep and a close.

use service::Refused;

use super::billing::{Charge, charge_stake};
use crate::App;
use crate::domain::{Stake, StakeStatus};
use crate::error::BetsError;
use crate::store;

/// Resolves `stake` if it is pending: the stake as recorded afterwards (confirmed, refused,
/// or as another request recorded it first). Billing unreachable: its 503, the stake left
/// pending (not in the pool) for a retry or the sweep.
pub async fn resolve_stake(app: &App, stake: Stake) -> Result<Stake, BetsError> {
    if stake.status != StakeStatus::Pending {
        return Ok(stake);
    }
    let charge = charge_stake(app, &stake).await?;
    let now = super::now(app);
    let mut work = app.ctx.begin().await?;
    // The bet's lock orders this against a close deciding its settlement.
    let mut bet = store::lock_bet(&mut work, stake.bet_id)
        .await?
        .ok_or(Refused::NotFound("bet"))?;
    let (resolved, event) = match charge {
        Charge::Charged => {
            let (confirmed, event) = stake.confirm(bet.order_id, now);
            (confirmed, Some(event))
        }
        Charge::Refused(why) => (stake.refuse(why, now), None),
    };
    if !store::resolve_stake(&mut work, &resolved).await? {
        // Recorded by another request or the sweep since it was read: theirs stands.
        let current = store::stake(&mut work, stake.id)
            .await?
            .ok_or(Refused::NotFound("stake"))?;
        work.rollback().await?;
        return Ok(current);
    }
    if let Some(event) = event {
        bet.version += 1;
        store::save_bet(&mut work, &bet).await?;
        work.publish(&contracts::Envelope::new(&event, bet.version, None))
            .await?;
    }
    work.commit().await?;
    Ok(resolved)
}
