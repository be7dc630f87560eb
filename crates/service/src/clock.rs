//! Business time: what a service considers "now" for rules that depend on the calendar
//! (check-in windows, no-show deadlines).
//!
//! Production uses the system clock. Tests of time-dependent rules run real processes and
//! cannot wait hours, so a clock made [`Clock::adjustable`] (config `clock.adjustable`,
//! off by default) can be moved forward through an admin-only operations route. Record
//! keeping (`created_at`, token lifetimes) keeps using real time.
//!
//! A moved clock's offset is kept in the moving service's database (table `business_clock`,
//! [`save`]), and a process starting again takes the largest offset its databases hold
//! ([`load`], [`Clock::restore`]): a process killed and restarted mid-test would otherwise
//! fall back to the system time, and every deadline the test arranged with it.

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

/// The body of `POST /ops/clock`: either `seconds` (a step) or `offset_seconds` (where to
/// put business time), not both.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    /// How far to move business time forward (not negative).
    #[serde(default)]
    pub seconds: i64,
    /// Business time this many seconds ahead of the system clock. Never backwards, and the
    /// offset business time already has is accepted and changes nothing: unlike a step, a
    /// retry of a move whose answer was lost moves the clock once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_seconds: Option<i64>,
}

impl Advance {
    /// A step of `seconds`.
    pub fn by(seconds: i64) -> Advance {
        Advance {
            seconds,
            offset_seconds: None,
        }
    }

    /// Business time `offset_seconds` ahead of the system clock.
    pub fn to_offset(offset_seconds: i64) -> Advance {
        Advance {
            seconds: 0,
            offset_seconds: Some(offset_seconds),
        }
    }
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

    /// Moves the clock as an operator asked (`POST /ops/clock`): a step or an offset
    /// ([`Advance`]); refusals name the field at fault.
    pub fn apply(&self, a: &Advance) -> Result<DateTime<Utc>, crate::Refused> {
        match a.offset_seconds {
            None => self.advance_seconds(a.seconds),
            Some(_) if a.seconds != 0 => Err(crate::Refused::invalid(
                "offset_seconds",
                "give either seconds or offset_seconds, not both",
            )),
            Some(offset) => {
                let to = Duration::try_seconds(offset).ok_or(ClockError::StepTooLarge);
                to.and_then(|to| self.set_offset(to)).map_err(|e| match e {
                    ClockError::Fixed => crate::Refused::conflict("clock_fixed", e.to_string()),
                    ClockError::Backwards => crate::Refused::invalid(
                        "offset_seconds",
                        "business time only moves forward: the offset is already larger",
                    ),
                    ClockError::StepTooLarge | ClockError::PastTheEnd => {
                        crate::Refused::invalid("offset_seconds", e.to_string())
                    }
                })
            }
        }
    }

    /// Puts business time `to` ahead of the system clock: forward only, by at most
    /// [`MAX_STEP_SECONDS`], never to [`latest`] or beyond; the offset it already has is
    /// accepted and changes nothing (a retried move is one move).
    pub fn set_offset(&self, to: Duration) -> Result<DateTime<Utc>, ClockError> {
        if !self.is_adjustable() {
            return Err(ClockError::Fixed);
        }
        let to = to.num_microseconds().ok_or(ClockError::StepTooLarge)?;
        let room = (latest() - Utc::now())
            .num_microseconds()
            .ok_or(ClockError::PastTheEnd)?;
        let max_step = MAX_STEP_SECONDS.saturating_mul(1_000_000);
        let mut refusal = ClockError::Backwards;
        // One atomic step: a concurrent move cannot slip between the check and the store.
        let moved =
            self.offset_micros
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
                    refusal = if to < current {
                        ClockError::Backwards
                    } else if to.checked_sub(current).is_none_or(|step| step > max_step) {
                        ClockError::StepTooLarge
                    } else if to >= room {
                        ClockError::PastTheEnd
                    } else {
                        return Some(to);
                    };
                    None
                });
        moved.map_err(|_| refusal)?;
        Ok(self.now())
    }

    /// Takes up an offset kept from before a restart ([`load`]) if it is ahead of this
    /// clock's; a clock that follows the system time ignores it (production never runs
    /// on a moved clock, even on a database a test once moved).
    pub fn restore(&self, offset_micros: i64) {
        if self.is_adjustable() {
            self.offset_micros
                .fetch_max(offset_micros, Ordering::Relaxed);
        }
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

/// Keeps `clock`'s offset in `db` (table `business_clock`, one row), so the process finds it
/// again after a restart. A smaller offset never overwrites a larger one: two moves
/// finishing in either order leave the later time.
pub async fn save(db: &storage::Db, clock: &Clock) -> Result<(), storage::DbError> {
    let offset = clock.offset_micros.load(Ordering::Relaxed);
    storage::query(
        "INSERT INTO business_clock (id, offset_micros) VALUES (1, $1) \
         ON CONFLICT (id) DO UPDATE SET offset_micros = CASE \
         WHEN excluded.offset_micros > business_clock.offset_micros \
         THEN excluded.offset_micros ELSE business_clock.offset_micros END",
    )
    .bind(offset)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The offset [`save`] kept in `db`, in microseconds (zero when the clock was never moved).
pub async fn load(db: &storage::Db) -> Result<i64, storage::DbError> {
    let offset: Option<i64> =
        storage::query_scalar("SELECT offset_micros FROM business_clock WHERE id = 1")
            .fetch_optional(db.pool())
            .await?;
    Ok(offset.unwrap_or(0))
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
    fn setting_an_offset_moves_once_however_often_it_is_asked() {
        let c = Clock::adjustable();
        let to = Duration::hours(30);
        c.apply(&Advance::to_offset(to.num_seconds())).unwrap();
        assert_eq!(c.offset(), to);
        // The retry of a move whose answer was lost, and the same move from a second
        // caller: accepted, and the clock stays where the first put it.
        c.apply(&Advance::to_offset(to.num_seconds())).unwrap();
        c.set_offset(to).unwrap();
        assert_eq!(c.offset(), to);
        // A step on top, then an older offset: refused, nothing changes.
        c.advance(Duration::hours(1)).unwrap();
        let e = c.apply(&Advance::to_offset(to.num_seconds())).unwrap_err();
        assert!(
            matches!(&e, crate::Refused::Invalid { field, .. } if field == "offset_seconds"),
            "{e:?}"
        );
        assert_eq!(c.offset(), Duration::hours(31));
        // Both a step and an offset: refused.
        let both = Advance {
            seconds: 5,
            offset_seconds: Some(to.num_seconds() * 2),
        };
        assert!(c.apply(&both).is_err());
        assert_eq!(c.offset(), Duration::hours(31));
        // Too far in one move, or a clock that follows the system time: refused.
        assert_eq!(
            c.set_offset(Duration::seconds(MAX_STEP_SECONDS + 31 * 3600 + 1)),
            Err(ClockError::StepTooLarge)
        );
        assert_eq!(
            Clock::system().set_offset(Duration::hours(1)),
            Err(ClockError::Fixed)
        );
    }

    #[test]
    fn a_restored_offset_only_moves_an_adjustable_clock_forward() {
        let c = Clock::adjustable();
        c.advance(Duration::hours(2)).unwrap();
        c.restore(Duration::hours(1).num_microseconds().unwrap());
        assert_eq!(c.offset(), Duration::hours(2));
        c.restore(Duration::hours(5).num_microseconds().unwrap());
        assert_eq!(c.offset(), Duration::hours(5));
        let fixed = Clock::system();
        fixed.restore(Duration::hours(5).num_microseconds().unwrap());
        assert_eq!(fixed.offset(), Duration::zero());
    }

    /// A database with the table every service's database has.
    async fn clock_db(dir: &std::path::Path) -> storage::Db {
        let url = storage::sqlite_url(&dir.join("clock.sqlite"));
        let db = storage::Db::connect(&url, &storage::DbOptions::default())
            .await
            .unwrap();
        db.migrate(&[messaging::migrations()]).await.unwrap();
        db
    }

    #[tokio::test]
    async fn a_saved_offset_is_found_again_and_never_lowered() {
        let dir = tempfile::tempdir().unwrap();
        let db = clock_db(dir.path()).await;
        assert_eq!(load(&db).await.unwrap(), 0);
        let moved = Clock::adjustable();
        moved.set_offset(Duration::days(3)).unwrap();
        save(&db, &moved).await.unwrap();
        // A process started again on the database (a new clock) resumes the offset.
        let restarted = Clock::adjustable();
        restarted.restore(load(&db).await.unwrap());
        assert_eq!(restarted.offset(), Duration::days(3));
        // A save from a clock behind (a replica not moved yet) keeps the later time.
        save(&db, &Clock::adjustable()).await.unwrap();
        assert_eq!(
            load(&db).await.unwrap(),
            Duration::days(3).num_microseconds().unwrap()
        );
        drop(db);
        let again = clock_db(dir.path()).await;
        assert_eq!(
            load(&again).await.unwrap(),
            Duration::days(3).num_microseconds().unwrap()
        );
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
