//! When a message was written, as a customer page shows it: in the configured time zone,
//! and on a Persian page in the Solar Hijri calendar with Persian digits.

use crate::model::solar_hijri_ymd;
use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Tz;

/// `at` as the page's language writes it, in `zone`: `2026-12-03 22:16 Asia/Tehran`, or
/// `۱۴۰۵/۰۹/۱۲ ۲۲:۱۶` on a Persian page.
pub fn written_at(at: DateTime<Utc>, zone: Tz, language: &str) -> String {
    let local = at.with_timezone(&zone);
    if language != "fa" {
        return format!("{} {}", local.format("%Y-%m-%d %H:%M"), zone.name());
    }
    let text = match solar_hijri_ymd(local.date_naive()) {
        Some((y, m, d)) => format!(
            "{y:04}/{m:02}/{d:02} {:02}:{:02}",
            local.hour(),
            local.minute()
        ),
        None => local.format("%Y/%m/%d %H:%M").to_string(),
    };
    persian_digits(&text)
}

fn persian_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0x06F0 + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn english_pages_say_the_time_in_the_zone_and_name_it() {
        let noon = at("2026-12-03T12:00:00Z");
        assert_eq!(written_at(noon, Tz::UTC, "en"), "2026-12-03 12:00 UTC");
        assert_eq!(
            written_at(noon, Tz::Asia__Tehran, "en"),
            "2026-12-03 15:30 Asia/Tehran"
        );
    }

    #[test]
    fn persian_pages_say_it_in_the_solar_hijri_calendar_with_persian_digits() {
        // 1 Farvardin 1405 (Nowruz) is 21 March 2026; Tehran is UTC+3:30.
        assert_eq!(
            written_at(at("2026-03-20T22:00:00Z"), Tz::Asia__Tehran, "fa"),
            "۱۴۰۵/۰۱/۰۱ ۰۱:۳۰"
        );
        // 3 December 2026 is 12 Azar 1405.
        assert_eq!(
            written_at(at("2026-12-03T18:46:00Z"), Tz::Asia__Tehran, "fa"),
            "۱۴۰۵/۰۹/۱۲ ۲۲:۱۶"
        );
        assert_eq!(
            written_at(at("2026-12-03T18:46:00Z"), Tz::UTC, "fa"),
            "۱۴۰۵/۰۹/۱۲ ۱۸:۴۶"
        );
    }
}
