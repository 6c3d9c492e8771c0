//! A period's numbers, added up from the counters.

use crate::model::{Metric, Tally};
use serde::Serialize;
use std::collections::BTreeMap;

/// How the team did over a period, with Chatwoot's names where they mean the same.
/// Times are in seconds; a time with nothing counted is null.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// Conversations begun.
    pub conversations_count: i64,
    /// Customers' messages.
    pub incoming_messages_count: i64,
    /// Agents' replies on customer channels.
    pub outgoing_messages_count: i64,
    pub resolutions_count: i64,
    /// Resolves undone by a reopen.
    pub reopened_count: i64,
    pub first_contact_resolutions_count: i64,
    /// First-contact resolutions per resolution (0 to 1).
    pub fcr_rate: Option<f64>,
    pub first_response: Timing,
    pub reply_time: Timing,
    pub resolution_time: Timing,
    pub csat: Satisfaction,
}

/// What customers said of the help they got.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Satisfaction {
    /// Surveys sent.
    pub surveys_sent: i64,
    /// Ratings given (1 poor to 5 great).
    pub responses: i64,
    /// Ratings per survey sent (0 to 1).
    pub response_rate: Option<f64>,
    /// The mean rating.
    pub average: Option<f64>,
    /// The share of ratings that are 4 or 5 (0 to 1): the usual "CSAT score".
    pub satisfied_rate: Option<f64>,
    /// How many of each rating, 1 to 5.
    pub ratings: [i64; 5],
    /// "Would you recommend us" scores given (0–10).
    pub nps_responses: i64,
    /// Promoters (9–10) less detractors (0–6), as a share of the scores, times 100
    /// (−100 to 100).
    pub nps: Option<f64>,
}

fn rounded(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

impl Satisfaction {
    fn of(tallies: &BTreeMap<Metric, Tally>) -> Self {
        let sent = tallies.get(&Metric::SurveysSent).map_or(0, |t| t.count);
        let ratings = tallies
            .get(&Metric::CsatRatings)
            .cloned()
            .unwrap_or_default();
        let scores = tallies.get(&Metric::NpsScores).cloned().unwrap_or_default();
        // Values under a minute are counted in bins of their own: a bin is the value.
        let of_value = |t: &Tally, value: u64| {
            t.bins
                .iter()
                .filter(|(bin, _)| crate::model::bin_value(**bin) == value)
                .map(|(_, n)| n)
                .sum::<i64>()
        };
        let counts = [1, 2, 3, 4, 5].map(|r| of_value(&ratings, r));
        let share =
            |part: i64, whole: i64| (whole > 0).then(|| rounded(part as f64 / whole as f64));
        let promoters: i64 = (9..=10).map(|v| of_value(&scores, v)).sum();
        let detractors: i64 = (0..=6).map(|v| of_value(&scores, v)).sum();
        Self {
            surveys_sent: sent,
            responses: ratings.count,
            response_rate: share(ratings.count, sent),
            average: ratings.average().map(rounded),
            satisfied_rate: share(counts[3] + counts[4], ratings.count),
            ratings: counts,
            nps_responses: scores.count,
            nps: (scores.count > 0).then(|| {
                ((promoters - detractors) as f64 * 1000.0 / scores.count as f64).round() / 10.0
            }),
        }
    }
}

/// A time measured over a period: how many, their mean, median and p90.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Timing {
    pub count: i64,
    pub avg_secs: Option<f64>,
    pub median_secs: Option<u64>,
    pub p90_secs: Option<u64>,
}

impl Timing {
    fn of(tally: Option<&Tally>) -> Self {
        let Some(t) = tally else {
            return Self::default();
        };
        Self {
            count: t.count,
            avg_secs: t.average().map(|a| (a * 10.0).round() / 10.0),
            median_secs: t.percentile(0.5),
            p90_secs: t.percentile(0.9),
        }
    }
}

impl Summary {
    /// The summary of added-up counters, in business time or calendar time.
    pub fn of(tallies: &BTreeMap<Metric, Tally>, business: bool) -> Self {
        let count = |m: Metric| tallies.get(&m).map_or(0, |t| t.count);
        let pick = |calendar: Metric, open: Metric| {
            Timing::of(tallies.get(if business { &open } else { &calendar }))
        };
        let resolutions = count(Metric::Resolutions);
        let fcr = count(Metric::FirstContactResolutions);
        Self {
            conversations_count: count(Metric::Conversations),
            incoming_messages_count: count(Metric::IncomingMessages),
            outgoing_messages_count: count(Metric::OutgoingMessages),
            resolutions_count: resolutions,
            reopened_count: count(Metric::Reopened),
            first_contact_resolutions_count: fcr,
            fcr_rate: (resolutions > 0)
                .then(|| ((fcr as f64 / resolutions as f64) * 1000.0).round() / 1000.0),
            first_response: pick(Metric::FirstResponse, Metric::FirstResponseBusiness),
            reply_time: pick(Metric::ReplyTime, Metric::ReplyTimeBusiness),
            resolution_time: pick(Metric::ResolutionTime, Metric::ResolutionTimeBusiness),
            csat: Satisfaction::of(tallies),
        }
    }
}

impl Summary {
    /// Every number by name, flat, in a fixed order: the columns of a CSV, and what a
    /// time series may follow. A time with nothing counted is none.
    pub fn fields(&self) -> Vec<(&'static str, Option<f64>)> {
        let n = |v: i64| Some(v as f64);
        let mut all = vec![
            ("conversations_count", n(self.conversations_count)),
            ("incoming_messages_count", n(self.incoming_messages_count)),
            ("outgoing_messages_count", n(self.outgoing_messages_count)),
            ("resolutions_count", n(self.resolutions_count)),
            ("reopened_count", n(self.reopened_count)),
            (
                "first_contact_resolutions_count",
                n(self.first_contact_resolutions_count),
            ),
            ("fcr_rate", self.fcr_rate),
        ];
        for (timing, [count, avg, median, p90]) in [
            (
                &self.first_response,
                [
                    "first_response_count",
                    "avg_first_response_time",
                    "median_first_response_time",
                    "p90_first_response_time",
                ],
            ),
            (
                &self.reply_time,
                [
                    "reply_time_count",
                    "avg_reply_time",
                    "median_reply_time",
                    "p90_reply_time",
                ],
            ),
            (
                &self.resolution_time,
                [
                    "resolution_time_count",
                    "avg_resolution_time",
                    "median_resolution_time",
                    "p90_resolution_time",
                ],
            ),
        ] {
            all.push((count, n(timing.count)));
            all.push((avg, timing.avg_secs));
            all.push((median, timing.median_secs.map(|v| v as f64)));
            all.push((p90, timing.p90_secs.map(|v| v as f64)));
        }
        let csat = &self.csat;
        all.extend([
            ("surveys_sent_count", n(csat.surveys_sent)),
            ("csat_responses_count", n(csat.responses)),
            ("csat_response_rate", csat.response_rate),
            ("csat_average", csat.average),
            ("csat_satisfied_rate", csat.satisfied_rate),
            ("nps_responses_count", n(csat.nps_responses)),
            ("nps_score", csat.nps),
        ]);
        all
    }

    /// The names [`Summary::fields`] gives.
    pub fn field_names() -> Vec<&'static str> {
        Self::default()
            .fields()
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    /// Nothing at all was counted.
    pub fn is_empty(&self) -> bool {
        self.conversations_count == 0
            && self.incoming_messages_count == 0
            && self.outgoing_messages_count == 0
            && self.resolutions_count == 0
            && self.reopened_count == 0
            && self.csat.surveys_sent == 0
            && self.csat.responses == 0
    }
}
