//! An operator moves business time forward (where `clock.adjustable` is set: tests of
//! deadlines), and what the new time makes overdue fails at once.

use super::fail_overdue_orders;
use crate::App;
use crate::error::OrderingError;

/// Moves business time forward by `seconds`, then runs the no-show sweep so the effect of
/// the new time is visible when this returns.
pub async fn advance_clock(app: &App, seconds: i64) -> Result<(), OrderingError> {
    app.ctx.clock.advance_seconds(seconds)?;
    fail_overdue_orders(app).await?;
    Ok(())
}
