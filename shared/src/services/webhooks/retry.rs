//! When a delivery is tried again, and when it is given up.

use std::time::Duration;

/// The longest wait between tries: SQS holds a received message at most 12 hours from
/// its receipt, so a wait ends well before that.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(11 * 3_600);

/// Deliveries that fail for good in a row before a subscription is turned off.
pub const DISABLE_AFTER_FAILURES: u32 = 10;

/// How an endpoint's answer (or the lack of one) counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Worth another try: no answer, 408, 429 or 5xx.
    Transient,
    /// The endpoint refused it for good: any other status.
    Final,
}

pub fn verdict(status: Option<u16>) -> Verdict {
    match status {
        Some(200..=299) => Verdict::Delivered,
        None | Some(408) | Some(429) | Some(500..=599) => Verdict::Transient,
        Some(_) => Verdict::Final,
    }
}

/// The waits between tries, after the first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl RetrySchedule {
    /// From seconds written `5,300,1800`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let waits = text
            .split(',')
            .map(|s| {
                s.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= MAX_RETRY_AFTER.as_secs())
                    .map(Duration::from_secs)
                    .ok_or_else(|| {
                        format!(
                            "`{s}` is not a wait in seconds (0–{})",
                            MAX_RETRY_AFTER.as_secs()
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if waits.is_empty() || waits.len() > 20 {
            return Err("give 1 to 20 waits".into());
        }
        Ok(Self(waits))
    }

    /// Tries in all, the first included.
    pub fn tries(&self) -> u32 {
        self.0.len() as u32 + 1
    }

    /// The wait before try `tried + 1` after `tried` tries failed, honouring the
    /// endpoint's `Retry-After` when it asks for longer; none once every try is spent.
    pub fn next_wait(&self, tried: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let planned = *self.0.get(tried.checked_sub(1)? as usize)?;
        Some(planned.max(retry_after.unwrap_or_default().min(MAX_RETRY_AFTER)))
    }
}

/// A `Retry-After` header: seconds, or an HTTP date.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_timeouts_throttling_and_server_errors_are_tried_again() {
        assert_eq!(verdict(Some(200)), Verdict::Delivered);
        assert_eq!(verdict(Some(204)), Verdict::Delivered);
        for status in [None, Some(408), Some(429), Some(500), Some(503)] {
            assert_eq!(verdict(status), Verdict::Transient, "{status:?}");
        }
        for status in [300, 301, 400, 401, 404, 410, 422] {
            assert_eq!(verdict(Some(status)), Verdict::Final, "{status}");
        }
    }

    #[test]
    fn the_default_schedule_spans_more_than_a_day() {
        let schedule = crate::settings::Settings::defaults().webhooks.schedule;
        let total: Duration = (1..schedule.tries())
            .map(|n| schedule.next_wait(n, None).unwrap())
            .sum();
        assert!(total >= Duration::from_secs(24 * 3_600), "{total:?}");
        assert_eq!(schedule.next_wait(schedule.tries(), None), None);
        assert_eq!(schedule.next_wait(0, None), None);
    }

    #[test]
    fn retry_after_lengthens_a_wait_but_never_past_the_cap() {
        let schedule = RetrySchedule::parse("1,1").unwrap();
        assert_eq!(schedule.tries(), 3);
        assert_eq!(schedule.next_wait(1, None), Some(Duration::from_secs(1)));
        assert_eq!(
            schedule.next_wait(1, Some(Duration::from_secs(30))),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            schedule.next_wait(2, Some(Duration::from_secs(10 * 86_400))),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(schedule.next_wait(3, None), None);
    }

    #[test]
    fn a_schedule_is_read_from_seconds() {
        assert!(RetrySchedule::parse("").is_err());
        assert!(RetrySchedule::parse("5,x").is_err());
        assert!(RetrySchedule::parse("99999999").is_err());
        assert_eq!(RetrySchedule::parse(" 5, 300 ").unwrap().tries(), 3);
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Fri, 04 Dec 2026 10:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_retry_after("Fri, 04 Dec 2026 09:00:00 GMT", now),
            None
        );
    }
}
