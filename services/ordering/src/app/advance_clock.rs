//! An operator moves business time forward (where `clock.adjustable` is set: tests of
//! deadlines), and what the new time makes overdue fails at once.

use super::fail_overdue_orders;
use crate::App;
use crate::error::OrderingError;
use service::clock::Advance;

/// Moves business time as asked (a step or an offset), keeps the offset in the database
/// for a restart, then runs the no-show sweep so the effect of the new time is visible when
/// this returns.
pub async fn advance_clock(app: &App, a: &Advance) -> Result<(), OrderingError> {
    app.ctx.clock.apply(a)?;
    service::clock::save(&app.ctx.db, &app.ctx.clock).await?;
    fail_overdue_orders(app).await?;
    Ok(())
}
