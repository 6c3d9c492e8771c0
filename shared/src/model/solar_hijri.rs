//! The Solar Hijri (Persian) calendar, Iran's civil calendar: dates an Iranian admin
//! writes (Nowruz is 1 Farvardin) and dates shown where the language is Persian. The
//! arithmetic is `icu_calendar`'s (Unicode's ICU4X), which needs no data.

use chrono::{Datelike, NaiveDate};
use icu_calendar::Date;
use icu_calendar::cal::{Iso, Persian};

/// Years before this are read as Solar Hijri (1405 AP is 2026): no Gregorian holiday an
/// admin enters is that old.
const SOLAR_HIJRI_BEFORE: i32 = 1700;

/// `date` in the Solar Hijri calendar: year, month (1 Farvardin to 12 Esfand) and day.
pub fn solar_hijri_ymd(date: NaiveDate) -> Option<(i32, u8, u8)> {
    let month = u8::try_from(date.month()).ok()?;
    let day = u8::try_from(date.day()).ok()?;
    let solar = Date::try_new_iso(date.year(), month, day)
        .ok()?
        .to_calendar(Persian);
    Some((
        solar.year().extended_year(),
        solar.month().ordinal,
        solar.day_of_month().0,
    ))
}

/// `date` as the Solar Hijri calendar writes it: `1406-01-01`.
pub fn solar_hijri(date: NaiveDate) -> Option<String> {
    let (y, m, d) = solar_hijri_ymd(date)?;
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// A local date written either way, `YYYY-MM-DD`: Gregorian (`2027-03-21`), or Solar
/// Hijri when the year is before 1700 (`1406-01-01`, Persian digits too). The error
/// says what is wrong.
pub fn parse_local_date(text: &str) -> Result<NaiveDate, String> {
    let ascii = super::identity::ascii_digits(text.trim());
    let bad = || format!("`{text}` is not a date like 2027-03-21 or 1406-01-01");
    let mut parts = ascii.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d): (i32, u8, u8) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    if y >= SOLAR_HIJRI_BEFORE {
        return NaiveDate::from_ymd_opt(y, u32::from(m), u32::from(d)).ok_or_else(bad);
    }
    let iso = Date::try_new_persian(y, m, d)
        .map_err(|_| format!("`{text}` is not a day of the Solar Hijri calendar"))?
        .to_calendar(Iso);
    NaiveDate::from_ymd_opt(
        iso.year().extended_year(),
        u32::from(iso.month().ordinal),
        u32::from(iso.day_of_month().0),
    )
    .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn nowruz_and_other_days_read_both_ways() {
        // Nowruz 1405 was 21 March 2026; 1406 falls on 21 March 2027; 1407 on 20 March 2028.
        assert_eq!(
            solar_hijri(date("2026-03-21")).as_deref(),
            Some("1405-01-01")
        );
        assert_eq!(
            solar_hijri(date("2027-03-21")).as_deref(),
            Some("1406-01-01")
        );
        assert_eq!(
            solar_hijri(date("2028-03-20")).as_deref(),
            Some("1407-01-01")
        );
        assert_eq!(
            solar_hijri(date("2026-12-03")).as_deref(),
            Some("1405-09-12")
        );
        assert_eq!(parse_local_date("1406-01-01"), Ok(date("2027-03-21")));
        assert_eq!(parse_local_date("۱۴۰۶-۰۱-۰۴"), Ok(date("2027-03-24")));
        assert_eq!(parse_local_date(" 2027-03-22 "), Ok(date("2027-03-22")));
        // Esfand has 30 days only in a leap year (1403 was one).
        assert_eq!(parse_local_date("1403-12-30"), Ok(date("2025-03-20")));
        assert!(
            parse_local_date("1404-12-30")
                .unwrap_err()
                .contains("Solar Hijri")
        );
        for bad in [
            "",
            "2027-3-21",
            "2027-02-30",
            "1406-13-01",
            "21/03/2027",
            "1406-01-01-01",
        ] {
            assert!(parse_local_date(bad).is_err(), "{bad}");
        }
        // Round trip over a few years of days.
        let mut day = date("2025-01-01");
        while day < date("2029-01-01") {
            let written = solar_hijri(day).unwrap();
            assert_eq!(parse_local_date(&written), Ok(day), "{written}");
            day = day.succ_opt().unwrap();
        }
    }
}
