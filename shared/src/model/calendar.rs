//! Business hours: the weekly hours of a team (or of the phone line) in a time zone, and
//! the dates it is closed. Everything that counts "within business hours" asks this one
//! model: whether it is open now, how much open time lies between two instants, and when
//! a span of open time starting somewhere ends (an SLA's due time).
//!
//! Times are local to the calendar's zone: an IANA name (`Asia/Tehran`, `Europe/Berlin`,
//! daylight saving followed) or a fixed UTC offset (`+03:30`). A local time a clock change
//! skips is taken as the first time after the gap; one it repeats, at its first occurrence.

use chrono::{
    DateTime, Datelike, Days, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime,
    NaiveTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;
use std::collections::BTreeSet;

/// Minutes in a day: a closing time of `24:00` is the end of the day.
const DAY_MINUTES: u16 = 24 * 60;

/// How far ahead open time is looked for before the calendar counts as never open.
const HORIZON_DAYS: u64 = 3 * 366;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Weekly opening hours in a time zone, and holidays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessHours {
    /// Open spans of each weekday (Monday first), in minutes from local midnight, sorted
    /// and apart.
    week: [Vec<(u16, u16)>; 7],
    zone: Zone,
    /// Local dates the business is closed all day.
    holidays: BTreeSet<NaiveDate>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Zone {
    Named(Tz),
    Fixed(FixedOffset),
}

impl BusinessHours {
    /// Always open.
    pub fn always() -> Self {
        Self {
            week: std::array::from_fn(|_| vec![(0, DAY_MINUTES)]),
            zone: Zone::Fixed(Utc.fix()),
            holidays: BTreeSet::new(),
        }
    }

    /// `<days> <hours> [<days> <hours> …] <zone>`: days as `mon-fri`, `sat,sun`, `mon`
    /// or a range that wraps the week (`sat-wed`); hours as `08:30-17:00`, or several
    /// spans comma-separated (`08:30-12:00,13:00-17:00`), `24:00` closing at midnight;
    /// the zone an IANA name or a UTC offset. A day named twice takes both.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "`{spec}` is not business hours like `sat-wed 08:30-17:00 Asia/Tehran` \
                 (days, hours, and an IANA time zone or a UTC offset such as +03:30): {why}"
            )
        };
        let words: Vec<&str> = spec.split_whitespace().collect();
        let Some((zone, rules)) = words.split_last() else {
            return Err(bad("it is empty"));
        };
        if rules.is_empty() || rules.len() % 2 != 0 {
            return Err(bad("each set of days needs its hours"));
        }
        let zone = match zone.parse::<Tz>() {
            Ok(named) => Zone::Named(named),
            Err(_) => Zone::Fixed(zone.parse().map_err(|_| bad("the zone is unknown"))?),
        };
        let mut week: [Vec<(u16, u16)>; 7] = Default::default();
        for rule in rules.chunks(2) {
            let days = weekdays(rule[0]).ok_or_else(|| bad("a day is unknown"))?;
            let spans = rule[1]
                .split(',')
                .map(span)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("hours are HH:MM-HH:MM, opening before closing"))?;
            for (day, open) in days.iter().enumerate() {
                if *open {
                    week[day].extend(&spans);
                }
            }
        }
        for spans in &mut week {
            spans.sort_unstable();
            if spans.windows(2).any(|w| w[1].0 < w[0].1) {
                return Err(bad("the hours of a day overlap"));
            }
        }
        Ok(Self {
            week,
            zone,
            holidays: BTreeSet::new(),
        })
    }

    /// The same hours, closed all day on `dates` (local dates of the calendar's zone).
    pub fn with_holidays(mut self, dates: impl IntoIterator<Item = NaiveDate>) -> Self {
        self.holidays.extend(dates);
        self
    }

    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.open_spans(self.local_date(at))
            .iter()
            .any(|(start, end)| *start <= at && at < *end)
    }

    /// Open time between `from` and `to` (none when `to` is not after `from`).
    pub fn open_time_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        let mut total = Duration::zero();
        let mut date = self.local_date(from);
        let last = self.local_date(to);
        while date <= last {
            for (start, end) in self.open_spans(date) {
                let (start, end) = (start.max(from), end.min(to));
                if start < end {
                    total += end - start;
                }
            }
            let Some(next) = date.checked_add_days(Days::new(1)) else {
                break;
            };
            date = next;
        }
        total
    }

    /// When `open` of open time, counted from `from`, has passed (for none: the next open
    /// instant). None when the calendar has not that much open time in the next three
    /// years.
    pub fn after_open_time(&self, from: DateTime<Utc>, open: Duration) -> Option<DateTime<Utc>> {
        let mut left = open.max(Duration::zero());
        let mut date = self.local_date(from);
        for _ in 0..HORIZON_DAYS {
            for (start, end) in self.open_spans(date) {
                let start = start.max(from);
                if start >= end {
                    continue;
                }
                if left <= end - start {
                    return Some(start + left);
                }
                left -= end - start;
            }
            date = date.checked_add_days(Days::new(1))?;
        }
        None
    }

    /// The first open instant at or after `at`; none when not within three years.
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut date = self.local_date(at);
        for _ in 0..HORIZON_DAYS {
            if let Some((start, _)) = self.open_spans(date).into_iter().find(|(_, end)| *end > at) {
                return Some(start.max(at));
            }
            date = date.checked_add_days(Days::new(1))?;
        }
        None
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        match self.zone {
            Zone::Named(tz) => at.with_timezone(&tz).date_naive(),
            Zone::Fixed(offset) => at.with_timezone(&offset).date_naive(),
        }
    }

    /// The open spans of one local date, as instants.
    fn open_spans(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        let day = date.weekday().num_days_from_monday() as usize;
        self.week[day]
            .iter()
            .filter_map(|(open, close)| {
                let start = self.instant(date, *open)?;
                let end = self.instant(date, *close)?;
                (start < end).then_some((start, end))
            })
            .collect()
    }

    /// The instant a local date and minute of the day names.
    fn instant(&self, date: NaiveDate, minute: u16) -> Option<DateTime<Utc>> {
        let local = if minute >= DAY_MINUTES {
            date.checked_add_days(Days::new(1))?
                .and_time(NaiveTime::MIN)
        } else {
            date.and_time(NaiveTime::from_hms_opt(
                u32::from(minute / 60),
                u32::from(minute % 60),
                0,
            )?)
        };
        match self.zone {
            Zone::Named(tz) => resolve(&tz, local),
            Zone::Fixed(offset) => resolve(&offset, local),
        }
    }
}

/// A local time as an instant: the first of two when a clock change repeats it, the end
/// of the gap when one skips it.
fn resolve<Z: TimeZone>(zone: &Z, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => (1..=4 * 60).find_map(|minutes| {
            match zone.from_local_datetime(&(local + Duration::minutes(minutes))) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                    Some(t.with_timezone(&Utc))
                }
                LocalResult::None => None,
            }
        }),
    }
}

/// `mon-fri`, `sat,sun`, `sat-wed` (wrapping the week), `mon`.
fn weekdays(text: &str) -> Option<[bool; 7]> {
    let day = |name: &str| DAYS.iter().position(|d| name.eq_ignore_ascii_case(d));
    let mut mask = [false; 7];
    for part in text.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                let mut d = a;
                loop {
                    mask[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => mask[day(part)?] = true,
        }
    }
    Some(mask)
}

/// `08:30-17:00` in minutes; `24:00` closes at midnight.
fn span(text: &str) -> Option<(u16, u16)> {
    let minute = |t: &str| -> Option<u16> {
        let (h, m) = t.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        let total = h * 60 + m;
        (m < 60 && total <= DAY_MINUTES).then_some(total)
    };
    let (open, close) = text.split_once('-')?;
    let (open, close) = (minute(open)?, minute(close)?);
    (open < close).then_some((open, close))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn hours_parse_as_written_and_refuse_what_is_not() {
        let split =
            BusinessHours::parse("mon-fri 09:00-12:00,13:00-17:00 sat 10:00-14:00 +00:00").unwrap();
        assert!(split.is_open(utc(2026, 11, 23, 9, 0)));
        assert!(!split.is_open(utc(2026, 11, 23, 12, 30)));
        assert!(split.is_open(utc(2026, 11, 28, 13, 59)));
        assert!(!split.is_open(utc(2026, 11, 29, 11, 0)));
        for bad in [
            "",
            "mon-fri",
            "mon-fri 09:00-17:00",
            "mon-fri 09:00-17:00 Mars/Olympus_Mons",
            "mon-fri 17:00-09:00 +00:00",
            "xyz 09:00-17:00 +00:00",
            "mon 9-5 +00:00",
            "mon 09:00-24:01 +00:00",
            "mon 09:00-12:00,11:00-13:00 +00:00",
            "mon 09:00-12:00 tue +00:00",
        ] {
            assert!(BusinessHours::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_week_that_starts_on_saturday_wraps() {
        // Tehran: Saturday to Wednesday; Thursday and Friday closed. +03:30, no DST.
        let tehran = BusinessHours::parse("sat-wed 08:30-17:00 Asia/Tehran").unwrap();
        // Saturday 2026-11-21 08:30 in Tehran is 05:00 UTC.
        assert!(tehran.is_open(utc(2026, 11, 21, 5, 0)));
        assert!(!tehran.is_open(utc(2026, 11, 21, 4, 59)));
        for (day, open) in [
            (21, true),
            (22, true),
            (23, true),
            (24, true),
            (25, true),
            (26, false),
            (27, false),
        ] {
            assert_eq!(tehran.is_open(utc(2026, 11, day, 8, 0)), open, "{day}");
        }
        // A week of it: five days of 8.5 hours.
        let week = tehran.open_time_between(utc(2026, 11, 21, 0, 0), utc(2026, 11, 28, 0, 0));
        assert_eq!(week, Duration::minutes(5 * 510));
    }

    #[test]
    fn open_time_follows_daylight_saving_changes() {
        let ny = BusinessHours::parse("mon-sun 00:00-24:00 America/New_York").unwrap();
        // 2026-03-08: clocks go from 02:00 to 03:00, a day of 23 hours.
        let spring = ny.open_time_between(utc(2026, 3, 8, 5, 0), utc(2026, 3, 9, 4, 0));
        assert_eq!(spring, Duration::hours(23));
        // 2026-11-01: from 02:00 back to 01:00, a day of 25 hours.
        let fall = ny.open_time_between(utc(2026, 11, 1, 4, 0), utc(2026, 11, 2, 5, 0));
        assert_eq!(fall, Duration::hours(25));
        // Office hours keep to the local clock on both sides of the change.
        let office = BusinessHours::parse("mon-fri 09:00-17:00 America/New_York").unwrap();
        assert!(office.is_open(utc(2026, 3, 6, 14, 0))); // Friday 09:00 EST
        assert!(office.is_open(utc(2026, 3, 9, 13, 0))); // Monday 09:00 EDT
        assert!(!office.is_open(utc(2026, 3, 9, 12, 59)));
        // Friday 16:00 EST to Monday 10:00 EDT: one hour, then one.
        let weekend = office.open_time_between(utc(2026, 3, 6, 21, 0), utc(2026, 3, 9, 14, 0));
        assert_eq!(weekend, Duration::hours(2));
        // A span opening in the skipped hour opens when the clock resumes.
        let early = BusinessHours::parse("sun 02:30-04:00 America/New_York").unwrap();
        let sunday = early.open_time_between(utc(2026, 3, 8, 0, 0), utc(2026, 3, 9, 0, 0));
        assert_eq!(sunday, Duration::hours(1)); // 03:00 to 04:00 EDT
    }

    #[test]
    fn hours_across_midnight_are_the_end_of_one_day_and_the_start_of_the_next() {
        let nights =
            BusinessHours::parse("mon-fri 22:00-24:00 tue-sat 00:00-06:00 +00:00").unwrap();
        // Monday 23:00 to Tuesday 01:00: two hours, with midnight between them.
        assert_eq!(
            nights.open_time_between(utc(2026, 11, 23, 23, 0), utc(2026, 11, 24, 1, 0)),
            Duration::hours(2)
        );
        assert!(nights.is_open(utc(2026, 11, 24, 0, 0)));
        assert!(!nights.is_open(utc(2026, 11, 24, 6, 0)));
        // Three hours from Monday 23:00 end on Tuesday at 02:00.
        assert_eq!(
            nights.after_open_time(utc(2026, 11, 23, 23, 0), Duration::hours(3)),
            Some(utc(2026, 11, 24, 2, 0))
        );
    }

    #[test]
    fn holidays_are_closed_and_the_clock_waits_through_them() {
        // Nowruz 1406: Sunday 2027-03-21 to Wednesday 03-24, entered by an admin.
        let tehran = BusinessHours::parse("sat-wed 08:30-17:00 +03:30")
            .unwrap()
            .with_holidays((21..=24).map(|d| date(2027, 3, d)));
        // Monday 2027-03-22 10:00 Tehran: a weekday, but a holiday.
        assert!(!tehran.is_open(utc(2027, 3, 22, 6, 30)));
        // One hour from Saturday 16:30 (Tehran): half an hour that day, then nothing
        // until the next Saturday (the holidays, then Thursday and Friday), at 09:00.
        let due = tehran.after_open_time(utc(2027, 3, 20, 13, 0), Duration::hours(1));
        assert_eq!(due, Some(utc(2027, 3, 27, 5, 30)));
        assert_eq!(
            tehran.open_time_between(utc(2027, 3, 20, 13, 0), utc(2027, 3, 27, 5, 30)),
            Duration::hours(1)
        );
        assert_eq!(
            tehran.next_open(utc(2027, 3, 21, 6, 0)),
            Some(utc(2027, 3, 27, 5, 0))
        );
    }

    #[test]
    fn counting_from_inside_open_hours_or_before_them() {
        let office = BusinessHours::parse("mon-fri 09:00-17:00 +00:00").unwrap();
        // From 16:00 Friday, two hours end at 10:00 Monday.
        assert_eq!(
            office.after_open_time(utc(2026, 11, 27, 16, 0), Duration::hours(2)),
            Some(utc(2026, 11, 30, 10, 0))
        );
        // From Saturday, nothing counts until Monday 09:00.
        assert_eq!(
            office.after_open_time(utc(2026, 11, 28, 12, 0), Duration::minutes(30)),
            Some(utc(2026, 11, 30, 9, 30))
        );
        assert_eq!(
            office.next_open(utc(2026, 11, 28, 12, 0)),
            Some(utc(2026, 11, 30, 9, 0))
        );
        assert_eq!(
            office.next_open(utc(2026, 11, 30, 9, 15)),
            Some(utc(2026, 11, 30, 9, 15))
        );
        assert_eq!(
            office.open_time_between(utc(2026, 11, 30, 12, 0), utc(2026, 11, 30, 11, 0)),
            Duration::zero()
        );
        // Always open counts the clock.
        let always = BusinessHours::always();
        assert_eq!(
            always.after_open_time(utc(2026, 11, 28, 12, 0), Duration::hours(30)),
            Some(utc(2026, 11, 29, 18, 0))
        );
    }

    #[test]
    fn a_calendar_never_open_has_no_due_time() {
        let closed = BusinessHours::parse("mon 09:00-10:00 +00:00")
            .unwrap()
            .with_holidays((0..200).map(|w| date(2026, 11, 30) + Days::new(7 * w)));
        assert_eq!(
            closed.after_open_time(utc(2026, 11, 28, 0, 0), Duration::hours(1)),
            None
        );
        assert_eq!(closed.next_open(utc(2026, 11, 28, 0, 0)), None);
    }
}
