use std::time::Duration;

use crate::App;
use crate::error::BetsError;
use crate::store;

use super::{finish_settling, resolve_stake};

/// One round of the sweep: resolves stakes pending longer than `resolve_pending_after_ms`
/// (their request died or Billing was down) and finishes bets left settling (a close
/// interrupted before every payout was booked), each with the same Billing keys. How many
/// it finished; a peer still down is left for the next round.
pub async fn sweep(app: &App) -> Result<usize, BetsError> {
    let now = super::now(app);
    let (pending, settling) = {
        let mut conn = app.ctx.db.pool().acquire().await?;
        let before = now
            .checked_sub_signed(
                chrono::Duration::from_std(Duration::from_millis(
                    app.config.resolve_pending_after_ms,
                ))
                .unwrap_or_default(),
            )
            .unwrap_or(now);
        (
            store::pending_stakes(&mut conn, before).await?,
            store::settling_bets(&mut conn).await?,
        )
    };
    let mut done = 0;
    for stake in pending {
        match resolve_stake(app, stake).await {
            Ok(_) => done += 1,
            Err(BetsError::PeerUnavailable { .. }) => return Ok(done),
            Err(e) => return Err(e),
        }
    }
    for bet in settling {
        match finish_settling(app, bet).await {
            Ok(()) => done += 1,
            Err(BetsError::PeerUnavailable { .. }) => return Ok(done),
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
