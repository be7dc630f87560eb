//! The billing calendar: a client's week ends on Sunday at midnight, a worker's month on its
//! last day at midnight, both in the configured zone (`billing.week_time_zone`). Periods are
//! half-open `[start, end)` and their boundaries are UTC instants, so an entry's
//! `booked_at` belongs to exactly one week and one month.

use std::fmt;

use chrono::{DateTime, Datelike, Days, FixedOffset, Months, NaiveDate, TimeZone, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The zone of the billing calendar: UTC or a fixed offset from it. (A named zone would
/// follow daylight saving; no zone database is built in, so an operator in such a zone
/// picks the offset the company bills by.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(FixedOffset);

impl Zone {
    /// UTC.
    pub fn utc() -> Zone {
        Zone(FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!("0 is a valid offset")))
    }

    /// `UTC`, `Z`, or an offset `+HH:MM` / `-HH:MM` (less than a day).
    pub fn parse(text: &str) -> Result<Zone, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("utc") || text == "Z" {
            return Ok(Zone::utc());
        }
        let bad = || format!("{text:?} is neither UTC nor an offset like +03:00");
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'+') => (1, &text[1..]),
            Some(b'-') => (-1, &text[1..]),
            _ => return Err(bad()),
        };
        let (h, m) = rest.split_once(':').ok_or_else(bad)?;
        let two_digits = |t: &str| t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(h) || !two_digits(m) {
            return Err(bad());
        }
        let h: i32 = h.parse().map_err(|_| bad())?;
        let m: i32 = m.parse().map_err(|_| bad())?;
        if h > 23 || m > 59 {
            return Err(bad());
        }
        FixedOffset::east_opt(sign * (h * 3600 + m * 60))
            .map(Zone)
            .ok_or_else(bad)
    }

    fn midnight(self, day: NaiveDate) -> Option<DateTime<Utc>> {
        self.0
            .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
            .single()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The local date of `at` (`None` past the ends of the calendar).
    fn day_of(self, at: DateTime<Utc>) -> Option<NaiveDate> {
        at.naive_utc().checked_add_offset(self.0).map(|t| t.date())
    }
}

/// A week (Monday to Sunday) or a calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Week,
    Month,
}

/// One billing period: `[start, end)` in UTC, and its key, the same in every replica and
/// after any restart (`2026-W48` for an ISO week, `2026-11` for a month): what makes a
/// cycle's entries and invoices unique per period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Period {
    pub kind: PeriodKind,
    pub key: String,
    pub start: DateTime<Utc>,
    /// The first instant after the period (the next one's start).
    pub end: DateTime<Utc>,
}

impl Period {
    /// Whether `at` falls in the period.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// The period after this one, in `zone`.
    pub fn next(&self, zone: Zone) -> Option<Period> {
        match self.kind {
            PeriodKind::Week => week_of(self.end, zone),
            PeriodKind::Month => month_of(self.end, zone),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

/// The week `at` falls in: from Monday 00:00 to the next Monday 00:00 in `zone` (so it ends
/// when Sunday does). `None` only at the ends of the representable calendar.
pub fn week_of(at: DateTime<Utc>, zone: Zone) -> Option<Period> {
    let day = zone.day_of(at)?;
    let monday =
        day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))?;
    let next_monday = monday.checked_add_days(Days::new(7))?;
    let iso = monday.iso_week();
    Some(Period {
        kind: PeriodKind::Week,
        key: format!("{}-W{:02}", iso.year(), iso.week()),
        start: zone.midnight(monday)?,
        end: zone.midnight(next_monday)?,
    })
}

/// The month `at` falls in: from the 1st 00:00 to the next month's 1st 00:00 in `zone` (so
/// it ends when its last day does). `None` only at the ends of the representable calendar.
pub fn month_of(at: DateTime<Utc>, zone: Zone) -> Option<Period> {
    let day = zone.day_of(at)?;
    let first = NaiveDate::from_ymd_opt(day.year(), day.month(), 1)?;
    let next = first.checked_add_months(Months::new(1))?;
    Some(Period {
        kind: PeriodKind::Month,
        key: format!("{}-{:02}", first.year(), first.month()),
        start: zone.midnight(first)?,
        end: zone.midnight(next)?,
    })
}

/// The period of `kind` that `at` falls in.
pub fn period_of(kind: PeriodKind, at: DateTime<Utc>, zone: Zone) -> Option<Period> {
    match kind {
        PeriodKind::Week => week_of(at, zone),
        PeriodKind::Month => month_of(at, zone),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn given_a_wednesday_then_its_week_runs_monday_to_the_end_of_sunday() {
        // Given Wednesday 2026-11-25 noon UTC, in UTC
        let week = week_of(utc("2026-11-25T12:00:00Z"), Zone::utc()).unwrap();
        // Then the week is Monday 23rd to Monday 30th, ISO week 48
        assert_eq!(week.start, utc("2026-11-23T00:00:00Z"));
        assert_eq!(week.end, utc("2026-11-30T00:00:00Z"));
        assert_eq!(week.key, "2026-W48");
        // The last instant of Sunday is in it, Monday midnight starts the next one
        assert!(week.contains(utc("2026-11-29T23:59:59.999999Z")));
        assert!(!week.contains(week.end));
        assert_eq!(week.next(Zone::utc()).unwrap().start, week.end);
        assert_eq!(week.next(Zone::utc()).unwrap().key, "2026-W49");
    }

    #[test]
    fn given_an_offset_zone_then_the_boundaries_are_its_midnights_in_utc() {
        let moscow = Zone::parse("+03:00").unwrap();
        // Sunday 22:30 UTC is already Monday 01:30 in Moscow: the next week there
        let week = week_of(utc("2026-11-29T22:30:00Z"), moscow).unwrap();
        assert_eq!(week.start, utc("2026-11-29T21:00:00Z"));
        assert_eq!(week.key, "2026-W49");
        let new_york = Zone::parse("-05:00").unwrap();
        let month = month_of(utc("2026-12-01T03:00:00Z"), new_york).unwrap();
        assert_eq!(month.key, "2026-11");
        assert_eq!(month.start, utc("2026-11-01T05:00:00Z"));
        assert_eq!(month.end, utc("2026-12-01T05:00:00Z"));
    }

    #[test]
    fn given_months_of_every_length_then_each_ends_after_its_last_day() {
        for (at, start, end, key) in [
            (
                "2026-02-14T00:00:00Z",
                "2026-02-01",
                "2026-03-01",
                "2026-02",
            ),
            (
                "2028-02-29T23:59:59Z",
                "2028-02-01",
                "2028-03-01",
                "2028-02",
            ),
            (
                "2026-12-31T23:00:00Z",
                "2026-12-01",
                "2027-01-01",
                "2026-12",
            ),
            (
                "2026-04-30T10:00:00Z",
                "2026-04-01",
                "2026-05-01",
                "2026-04",
            ),
        ] {
            let month = month_of(utc(at), Zone::utc()).unwrap();
            assert_eq!(month.start, utc(&format!("{start}T00:00:00Z")), "{at}");
            assert_eq!(month.end, utc(&format!("{end}T00:00:00Z")), "{at}");
            assert_eq!(month.key, key);
        }
    }

    #[test]
    fn given_a_week_across_the_new_year_then_its_key_is_the_iso_year() {
        // Thursday 2026-12-31: ISO week 53 of 2026; Friday 2027-01-01 is in the same week
        let week = week_of(utc("2027-01-01T12:00:00Z"), Zone::utc()).unwrap();
        assert_eq!(week.key, "2026-W53");
        assert_eq!(week.start, utc("2026-12-28T00:00:00Z"));
    }

    #[test]
    fn given_zone_texts_then_only_utc_and_offsets_parse() {
        assert_eq!(Zone::parse("UTC"), Ok(Zone::utc()));
        assert_eq!(Zone::parse("+00:00"), Ok(Zone::utc()));
        assert!(Zone::parse("+05:30").is_ok());
        for bad in [
            "",
            "Europe/Moscow",
            "+3",
            "+24:00",
            "+03:60",
            "03:00",
            "+0a:00",
            "+-1:00",
        ] {
            assert!(Zone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn given_the_ends_of_the_calendar_then_no_period_panics() {
        assert!(week_of(DateTime::<Utc>::MAX_UTC, Zone::parse("+23:59").unwrap()).is_none());
        assert!(month_of(DateTime::<Utc>::MIN_UTC, Zone::parse("-23:59").unwrap()).is_none());
        assert!(week_of(utc("9997-12-31T00:00:00Z"), Zone::utc()).is_some());
    }
}
