//! Business time: what a service considers "now" for rules that depend on the calendar
//! (check-in windows, no-show deadlines).
//!
//! Production uses the system clock. Tests of time-dependent rules run real processes and
//! cannot wait hours, so a clock made [`Clock::adjustable`] (config `clock.adjustable`,
//! off by default) can be moved forward through an admin-only operations route. Record
//! keeping (`created_at`, token lifetimes) keeps using real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// The service's notion of the current time. Cheap to clone; clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
    adjustable: Arc<AtomicBool>,
}

/// Moving a clock that is not adjustable (or backwards) is refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClockError {
    #[error("this clock follows the system time (set clock.adjustable = true to move it)")]
    Fixed,
    #[error("the clock only moves forward")]
    Backwards,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock tests may move forward with [`Clock::advance`].
    pub fn adjustable() -> Clock {
        let c = Clock::default();
        c.adjustable.store(true, Ordering::Relaxed);
        c
    }

    /// Now, as the service sees it.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::microseconds(self.offset_micros.load(Ordering::Relaxed))
    }

    /// How far ahead of the system clock this one is.
    pub fn offset(&self) -> Duration {
        Duration::microseconds(self.offset_micros.load(Ordering::Relaxed))
    }

    pub fn is_adjustable(&self) -> bool {
        self.adjustable.load(Ordering::Relaxed)
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) -> Result<DateTime<Utc>, ClockError> {
        if !self.is_adjustable() {
            return Err(ClockError::Fixed);
        }
        if by < Duration::zero() {
            return Err(ClockError::Backwards);
        }
        let us = by.num_microseconds().unwrap_or(i64::MAX);
        self.offset_micros.fetch_add(us, Ordering::Relaxed);
        Ok(self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_cannot_be_moved() {
        assert_eq!(
            Clock::system().advance(Duration::hours(1)),
            Err(ClockError::Fixed)
        );
    }

    #[test]
    fn an_adjustable_clock_moves_forward_for_every_clone() {
        let c = Clock::adjustable();
        let other = c.clone();
        c.advance(Duration::hours(2)).unwrap();
        assert!(other.now() > Utc::now() + Duration::minutes(119));
        assert_eq!(c.advance(Duration::hours(-1)), Err(ClockError::Backwards));
    }
}
