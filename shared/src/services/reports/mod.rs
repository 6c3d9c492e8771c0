//! Measuring support. The keeper, a subscriber of the event log, keeps counters per half
//! hour and dimension; a report adds the counters of its days up, so it never reads
//! what happened one by one (see `model::report` for what each number means).

mod keeper;
mod summary;

pub use keeper::ReportKeeper;
pub use summary::{Summary, Timing};

use super::error::{ServiceError, ServiceResult};
use crate::model::{BUCKET_SECS, Channel, DAY_SECS, Dimension, Grain, Metric, Tally};
use crate::ports::{PortResult, ReportStore};
use chrono::{Datelike, Days, Months, NaiveDate, TimeZone, Timelike};
use chrono_tz::Tz;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Days a report may span at most: a year and a day.
pub const MAX_REPORT_DAYS: i64 = 367;

/// No report reaches before this day.
pub const FIRST_DAY: NaiveDate = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");

/// Weeks the volume report looks back at most.
pub const MAX_VOLUME_WEEKS: u32 = 12;

/// Tags the volume report compares at most (the first by name).
pub const MAX_TAGS_COMPARED: usize = 200;

/// Reads one report makes at once.
const PARALLEL_READS: usize = 8;

/// Whole local days, `since` to `until` included, in a zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub since: NaiveDate,
    pub until: NaiveDate,
    pub zone: Tz,
}

/// How a time series cuts its days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    /// Weeks from Monday.
    Week,
    /// Calendar months.
    Month,
}

impl GroupBy {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "day" => Some(Self::Day),
            "week" => Some(Self::Week),
            "month" => Some(Self::Month),
            _ => None,
        }
    }
}

impl Span {
    pub fn new(since: NaiveDate, until: NaiveDate, zone: Tz) -> ServiceResult<Self> {
        if since > until {
            return Err(ServiceError::Invalid(format!(
                "`since` ({since}) is after `until` ({until})"
            )));
        }
        if since < FIRST_DAY {
            return Err(ServiceError::Invalid(format!(
                "reports begin on {FIRST_DAY} at the earliest"
            )));
        }
        if (until - since).num_days() >= MAX_REPORT_DAYS {
            return Err(ServiceError::Invalid(format!(
                "a report covers {MAX_REPORT_DAYS} days at most"
            )));
        }
        Ok(Self { since, until, zone })
    }

    /// The half hours the days cover, as UTC seconds: from the first's start to the
    /// start of the day after the last.
    pub fn buckets(&self) -> (i64, i64) {
        let after = self.until.succ_opt().unwrap_or(self.until);
        (start_of(self.since, self.zone), start_of(after, self.zone))
    }

    /// The days cut into days, weeks or months, each kept within the span.
    pub fn periods(&self, group: GroupBy) -> Vec<Span> {
        let mut periods = Vec::new();
        let mut start = self.since;
        while start <= self.until {
            let next = match group {
                GroupBy::Day => start.succ_opt(),
                GroupBy::Week => start.checked_add_days(Days::new(
                    7 - u64::from(start.weekday().num_days_from_monday()),
                )),
                GroupBy::Month => start
                    .with_day(1)
                    .and_then(|first| first.checked_add_months(Months::new(1))),
            };
            let Some(next) = next else { break };
            let end = next.pred_opt().unwrap_or(next).min(self.until);
            periods.push(Span {
                since: start,
                until: end,
                zone: self.zone,
            });
            start = next;
        }
        periods
    }
}

/// The half hour (UTC seconds) in which `date` begins in `zone`.
pub fn start_of(date: NaiveDate, zone: Tz) -> i64 {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    let at = zone
        .from_local_datetime(&midnight)
        .earliest()
        // Midnight skipped by a clock change: the day begins an hour later.
        .or_else(|| {
            zone.from_local_datetime(&(midnight + chrono::TimeDelta::hours(1)))
                .earliest()
        })
        .map_or_else(|| midnight.and_utc().timestamp(), |at| at.timestamp());
    at.div_euclid(BUCKET_SECS) * BUCKET_SECS
}

/// When customers write on a channel: the mean number of their messages in each hour of
/// each weekday, Monday first, over the weeks looked at.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChannelLoad {
    #[schema(value_type = String, example = "telegram")]
    pub channel: Channel,
    /// Messages in all the weeks.
    pub total: i64,
    /// Seven rows (Monday to Sunday) of 24 hourly means.
    pub by_weekday: Vec<Vec<f64>>,
}

/// The conversations a tag was put on in the last seven days, against the seven before.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TagGrowth {
    pub tag: String,
    pub this_week: i64,
    pub last_week: i64,
    /// `this_week / last_week`; null when last week had none.
    pub growth: Option<f64>,
}

/// Where the load comes from and what is growing: what an operations lead staffs by.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Volume {
    pub weeks: u32,
    pub hourly: Vec<ChannelLoad>,
    /// The tags whose conversations grew most this week, most first (ten at most).
    pub rising_tags: Vec<TagGrowth>,
}

/// Reports for the API.
#[derive(Clone)]
pub struct Reports {
    pub store: Arc<dyn ReportStore>,
}

impl Reports {
    /// The counters of `dimension` added up over the half hours in `from..until`: the
    /// whole UTC days between from the day counters, the ends from the half hours'.
    pub async fn tally(
        &self,
        dimension: &Dimension,
        from: i64,
        until: i64,
    ) -> PortResult<BTreeMap<Metric, Tally>> {
        let first_day = from.div_euclid(DAY_SECS) * DAY_SECS
            + if from.rem_euclid(DAY_SECS) == 0 {
                0
            } else {
                DAY_SECS
            };
        let last_day = until.div_euclid(DAY_SECS) * DAY_SECS;
        if first_day >= last_day {
            return self
                .store
                .tallies(dimension, Grain::HalfHour, from, until)
                .await;
        }
        let (mut all, days, after) = tokio::try_join!(
            self.store
                .tallies(dimension, Grain::HalfHour, from, first_day),
            self.store
                .tallies(dimension, Grain::Day, first_day, last_day),
            self.store
                .tallies(dimension, Grain::HalfHour, last_day, until),
        )?;
        for (metric, tally) in days.iter().chain(after.iter()) {
            all.entry(*metric).or_default().merge(tally);
        }
        Ok(all)
    }

    /// The numbers of `dimension` over `span`, and over as many days just before it.
    pub async fn summary(
        &self,
        dimension: &Dimension,
        span: &Span,
        business: bool,
    ) -> ServiceResult<(Summary, Summary)> {
        let (from, until) = span.buckets();
        let before = from - (until - from);
        let (now, earlier) = tokio::try_join!(
            self.tally(dimension, from, until),
            self.tally(dimension, before, from),
        )?;
        Ok((Summary::of(&now, business), Summary::of(&earlier, business)))
    }

    /// The numbers of `dimension` for each day, week or month of `span`.
    pub async fn timeseries(
        &self,
        dimension: &Dimension,
        span: &Span,
        group: GroupBy,
        business: bool,
    ) -> ServiceResult<Vec<(Span, Summary)>> {
        let periods = span.periods(group);
        let reads: Vec<_> = periods
            .iter()
            .map(|p| {
                let (from, until) = p.buckets();
                self.tally(dimension, from, until)
            })
            .collect();
        let tallies: Vec<_> = futures::stream::iter(reads)
            .buffered(PARALLEL_READS)
            .try_collect()
            .await?;
        Ok(periods
            .into_iter()
            .zip(tallies)
            .map(|(p, t)| (p, Summary::of(&t, business)))
            .collect())
    }

    /// The numbers of each of `dimensions` over `span`, leaving out those with nothing
    /// counted.
    pub async fn by<T: Send>(
        &self,
        dimensions: Vec<(Dimension, T)>,
        span: &Span,
        business: bool,
    ) -> ServiceResult<Vec<(Dimension, T, Summary)>> {
        let (from, until) = span.buckets();
        let reads: Vec<_> = dimensions
            .iter()
            .map(|(d, _)| self.tally(d, from, until))
            .collect();
        let tallies: Vec<_> = futures::stream::iter(reads)
            .buffered(PARALLEL_READS)
            .try_collect()
            .await?;
        Ok(dimensions
            .into_iter()
            .zip(tallies)
            .map(|((d, label), t)| (d, label, Summary::of(&t, business)))
            .filter(|(_, _, s)| !s.is_empty())
            .collect())
    }

    /// Every tag counted so far.
    pub async fn tags(&self) -> ServiceResult<Vec<String>> {
        Ok(self.store.counted_tags().await?)
    }

    /// The hourly load of each channel over the `weeks` ending `today`, and the tags
    /// that grew most in the last seven days.
    pub async fn volume(&self, today: NaiveDate, zone: Tz, weeks: u32) -> ServiceResult<Volume> {
        if !(1..=MAX_VOLUME_WEEKS).contains(&weeks) {
            return Err(ServiceError::Invalid(format!(
                "`weeks` is 1 to {MAX_VOLUME_WEEKS}"
            )));
        }
        let days = |n: u32| Days::new(u64::from(n));
        let first = today
            .checked_sub_days(days(weeks * 7 - 1))
            .ok_or_else(|| ServiceError::Invalid("`today` is too early".into()))?;
        let (from, until) = Span::new(first, today, zone)?.buckets();
        let channels = [
            Channel::Web,
            Channel::Email,
            Channel::Telegram,
            Channel::Sms,
            Channel::Voice,
        ];
        let dimensions = channels.map(Dimension::channel);
        let reads: Vec<_> = dimensions
            .iter()
            .map(|d| {
                self.store
                    .per_half_hour(d, Metric::IncomingMessages, from, until)
            })
            .collect();
        let counts: Vec<Vec<(i64, i64)>> = futures::stream::iter(reads)
            .buffered(PARALLEL_READS)
            .try_collect()
            .await?;
        let hourly = channels
            .into_iter()
            .zip(counts)
            .map(|(channel, counts)| {
                let mut grid = vec![vec![0.0; 24]; 7];
                let mut total = 0;
                for (bucket, n) in counts {
                    let Some(at) = chrono::DateTime::from_timestamp(bucket, 0) else {
                        continue;
                    };
                    let local = at.with_timezone(&zone);
                    grid[local.weekday().num_days_from_monday() as usize][local.hour() as usize] +=
                        n as f64;
                    total += n;
                }
                for cell in grid.iter_mut().flatten() {
                    *cell = (*cell / f64::from(weeks) * 100.0).round() / 100.0;
                }
                ChannelLoad {
                    channel,
                    total,
                    by_weekday: grid,
                }
            })
            .collect();
        Ok(Volume {
            weeks,
            hourly,
            rising_tags: self.rising_tags(today, zone).await?,
        })
    }

    async fn rising_tags(&self, today: NaiveDate, zone: Tz) -> ServiceResult<Vec<TagGrowth>> {
        let week = |back: u64| -> ServiceResult<(i64, i64)> {
            let end = today
                .checked_sub_days(Days::new(back))
                .ok_or_else(|| ServiceError::Invalid("`today` is too early".into()))?;
            let start = end.checked_sub_days(Days::new(6)).unwrap_or(end);
            Ok(Span::new(start, end, zone)?.buckets())
        };
        let (this, last) = (week(0)?, week(7)?);
        let mut tags = self.store.counted_tags().await?;
        tags.truncate(MAX_TAGS_COMPARED);
        let dimensions: Vec<Dimension> = tags.iter().map(|t| Dimension::tag(t)).collect();
        let reads: Vec<_> = dimensions
            .iter()
            .map(|d| {
                futures::future::try_join(
                    self.tally(d, this.0, this.1),
                    self.tally(d, last.0, last.1),
                )
            })
            .collect();
        let conversations =
            |t: &BTreeMap<Metric, Tally>| t.get(&Metric::Tagged).map_or(0, |t| t.count);
        let counted: Vec<(i64, i64)> = futures::stream::iter(reads)
            .buffered(PARALLEL_READS)
            .map_ok(|(now, before)| (conversations(&now), conversations(&before)))
            .try_collect()
            .await?;
        let mut growing: Vec<TagGrowth> = tags
            .into_iter()
            .zip(counted)
            .filter(|(_, (now, before))| now > before)
            .map(|(tag, (this_week, last_week))| TagGrowth {
                tag,
                this_week,
                last_week,
                growth: (last_week > 0)
                    .then(|| ((this_week as f64 / last_week as f64) * 100.0).round() / 100.0),
            })
            .collect();
        growing.sort_by(|a, b| {
            (b.this_week - b.last_week)
                .cmp(&(a.this_week - a.last_week))
                .then_with(|| a.tag.cmp(&b.tag))
        });
        growing.truncate(10);
        Ok(growing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_span_is_cut_into_weeks_from_monday_and_calendar_months() {
        let span = Span::new(day("2026-11-26"), day("2026-12-09"), Tz::UTC).unwrap();
        let weeks: Vec<(String, String)> = span
            .periods(GroupBy::Week)
            .iter()
            .map(|p| (p.since.to_string(), p.until.to_string()))
            .collect();
        assert_eq!(
            weeks,
            [
                ("2026-11-26", "2026-11-29"),
                ("2026-11-30", "2026-12-06"),
                ("2026-12-07", "2026-12-09"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        let months = span.periods(GroupBy::Month);
        assert_eq!(months.len(), 2);
        assert_eq!(months[0].until, day("2026-11-30"));
        assert_eq!(months[1].since, day("2026-12-01"));
        assert_eq!(span.periods(GroupBy::Day).len(), 14);
        assert!(Span::new(day("2026-12-02"), day("2026-12-01"), Tz::UTC).is_err());
        assert!(Span::new(day("2025-01-01"), day("2026-12-01"), Tz::UTC).is_err());
    }

    #[test]
    fn a_tehran_day_is_whole_half_hours_from_utc() {
        let span = Span::new(
            day("2026-12-05"),
            day("2026-12-05"),
            chrono_tz::Asia::Tehran,
        )
        .unwrap();
        let (from, until) = span.buckets();
        // Midnight in Tehran is 20:30 UTC the day before.
        assert_eq!(
            chrono::DateTime::from_timestamp(from, 0)
                .unwrap()
                .to_rfc3339(),
            "2026-12-04T20:30:00+00:00"
        );
        assert_eq!(until - from, 86_400);
    }
}
