//! An operator moves business time forward (where `clock.adjustable` is set: tests of the
//! cycles), and the periods the new time ends run at once.

use super::{run_cycles, settle_due};
use crate::App;
use crate::error::BillingError;

/// Moves business time forward by `seconds`, then runs the ended periods and asks the bank
/// for what is due, so the effect of the new time is visible when this returns.
pub async fn advance_clock(app: &App, seconds: i64) -> Result<(), BillingError> {
    app.ctx.clock.advance_seconds(seconds)?;
    run_cycles(app).await?;
    settle_due(app).await?;
    Ok(())
}
