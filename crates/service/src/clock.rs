//! Business time: what a service considers "now" for rules that depend on the calendar
//! (check-in windows, no-show deadlines).
//!
//! Production uses the system clock. Tests of time-dependent rules run real processes and
//! cannot wait hours, so a clock made [`Clock::adjustable`] (config `clock.adjustable`,
//! off by default) can be moved forward through an admin-only operations route. Record
//! keeping (`created_at`, token lifetimes) keeps using real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};

/// The most one move may add (ten years): tests of deadlines need hours or days; a larger
/// step is a typo or a probe.
pub const MAX_STEP_SECONDS: i64 = 10 * 366 * 24 * 3600;

/// Business time never reaches this instant (the start of year 9998): every date computed
/// from it (an order scheduled up to a year ahead, its deadline, a link's expiry) stays a
/// four-digit year that chrono, RFC 3339 parsers and both databases handle without overflow.
pub fn latest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9998, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Business time as an admin sees it: the answer of `GET /ops/clock` in the services that
/// let an operator move it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ClockView {
    pub now: DateTime<Utc>,
    /// How far business time is ahead of the system clock.
    pub offset_seconds: i64,
    /// Whether `POST /ops/clock` may move it.
    pub adjustable: bool,
}

impl ClockView {
    /// `clock` now.
    pub fn of(clock: &Clock) -> ClockView {
        ClockView {
            now: clock.now(),
            offset_seconds: clock.offset().num_seconds(),
            adjustable: clock.is_adjustable(),
        }
    }
}

/// The body of `POST /ops/clock`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    /// How far to move business time forward (not negative).
    pub seconds: i64,
}

/// The service's notion of the current time. Cheap to clone; clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
    adjustable: Arc<AtomicBool>,
}

/// Moving a clock that is not adjustable, backwards or too far is refused (and changes
/// nothing).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClockError {
    #[error("this clock follows the system time (set clock.adjustable = true to move it)")]
    Fixed,
    #[error("the clock only moves forward")]
    Backwards,
    #[error("one move may add at most {MAX_STEP_SECONDS} seconds (ten years)")]
    StepTooLarge,
    #[error("business time must stay before the year 9998")]
    PastTheEnd,
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
        // `advance` keeps the offset below `latest()`; the fallback only guards the sum.
        Utc::now()
            .checked_add_signed(self.offset())
            .unwrap_or_else(latest)
    }

    /// How far ahead of the system clock this one is.
    pub fn offset(&self) -> Duration {
        Duration::microseconds(self.offset_micros.load(Ordering::Relaxed))
    }

    pub fn is_adjustable(&self) -> bool {
        self.adjustable.load(Ordering::Relaxed)
    }

    /// Moves the clock forward by `seconds` as an operator asked (`POST /ops/clock`): the
    /// refusal to answer names `seconds`, or is 409 `clock_fixed` for a clock that follows
    /// the system time.
    pub fn advance_seconds(&self, seconds: i64) -> Result<DateTime<Utc>, crate::Refused> {
        // `Duration::seconds` panics past ±i64::MAX / 1000: build it checked, and let the
        // clock refuse anything beyond its bounds.
        let by = Duration::try_seconds(seconds).ok_or(ClockError::StepTooLarge);
        by.and_then(|by| self.advance(by)).map_err(|e| match e {
            ClockError::Fixed => crate::Refused::conflict("clock_fixed", e.to_string()),
            ClockError::Backwards => crate::Refused::invalid("seconds", "must not be negative"),
            ClockError::StepTooLarge | ClockError::PastTheEnd => {
                crate::Refused::invalid("seconds", e.to_string())
            }
        })
    }

    /// Moves the clock forward by `by` (at most [`MAX_STEP_SECONDS`], and never to
    /// [`latest`] or beyond); a refused move changes nothing.
    pub fn advance(&self, by: Duration) -> Result<DateTime<Utc>, ClockError> {
        if !self.is_adjustable() {
            return Err(ClockError::Fixed);
        }
        if by < Duration::zero() {
            return Err(ClockError::Backwards);
        }
        if by > Duration::seconds(MAX_STEP_SECONDS) {
            return Err(ClockError::StepTooLarge);
        }
        let step = by.num_microseconds().ok_or(ClockError::StepTooLarge)?;
        // The largest offset that keeps `now()` before `latest()`, judged now; the update is
        // one atomic step so concurrent moves cannot add up past it.
        let room = (latest() - Utc::now())
            .num_microseconds()
            .ok_or(ClockError::PastTheEnd)?;
        self.offset_micros
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
                current.checked_add(step).filter(|next| *next < room)
            })
            .map_err(|_| ClockError::PastTheEnd)?;
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

    #[test]
    fn a_move_too_large_or_past_the_end_is_refused_and_changes_nothing() {
        let c = Clock::adjustable();
        assert_eq!(
            c.advance(Duration::seconds(MAX_STEP_SECONDS + 1)),
            Err(ClockError::StepTooLarge)
        );
        assert_eq!(
            c.advance(Duration::seconds(9_000_000_000_000)),
            Err(ClockError::StepTooLarge)
        );
        assert_eq!(c.offset(), Duration::zero());
        // Ten-year steps until the end: then refused, and the clock stays before it.
        let mut moves = 0;
        while c.advance(Duration::seconds(MAX_STEP_SECONDS)).is_ok() {
            moves += 1;
            assert!(moves < 1000, "the clock never stopped");
        }
        assert!(moves > 700);
        let before = c.offset();
        assert_eq!(
            c.advance(Duration::seconds(MAX_STEP_SECONDS)),
            Err(ClockError::PastTheEnd)
        );
        assert_eq!(c.offset(), before);
        assert!(c.now() < latest());
        // Dates a year past business time still compute.
        assert!(c.now().checked_add_signed(Duration::days(366)).is_some());
    }
}
