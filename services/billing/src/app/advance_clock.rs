//! An operator moves business time forward (where `clock.adjustable` is set: tests of the
//! cycles), and the periods the new time ends run at once.

use super::{run_cycles, settle_due};
use crate::App;
use crate::error::BillingError;
use service::clock::Advance;

/// Moves business time as asked (a step or an offset), keeps the offset in the database
/// for a restart, then runs the ended periods and asks the bank for what is due, so the
/// effect of the new time is visible when this returns.
pub async fn advance_clock(app: &App, a: &Advance) -> Result<(), BillingError> {
    app.ctx.clock.apply(a)?;
    service::clock::save(&app.ctx.db, &app.ctx.clock).await?;
    run_cycles(app).await?;
    settle_due(app).await?;
    Ok(())
}
