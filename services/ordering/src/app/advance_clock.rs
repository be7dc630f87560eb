//! An operator moves business time forward (where `clock.adjustable` is set: tests of
//! deadlines), and what the new time makes overdue fails at once.

use service::Refused;
use service::clock::ClockError;

use super::fail_overdue_orders;
use crate::App;
use crate::error::OrderingError;

/// Moves business time forward by `seconds`, then runs the no-show sweep so the effect of
/// the new time is visible when this returns.
pub async fn advance_clock(app: &App, seconds: i64) -> Result<(), OrderingError> {
    // `Duration::seconds` panics past ±i64::MAX / 1000: build it checked, and let the clock
    // refuse anything beyond its bounds.
    let by = chrono::Duration::try_seconds(seconds).ok_or(ClockError::StepTooLarge);
    by.and_then(|by| app.ctx.clock.advance(by))
        .map_err(|e| match e {
            ClockError::Fixed => Refused::conflict("clock_fixed", e.to_string()).into(),
            ClockError::Backwards => OrderingError::invalid("seconds", "must not be negative"),
            ClockError::StepTooLarge | ClockError::PastTheEnd => {
                OrderingError::invalid("seconds", &e.to_string())
            }
        })?;
    fail_overdue_orders(app).await?;
    Ok(())
}
