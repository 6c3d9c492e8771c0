//! Measuring support: what the event log says about how fast and how well the team
//! answers, kept as counters per half hour and per dimension (everyone, a channel, a
//! team, an agent, a priority, a tag), so that a report adds up counters and never reads
//! what happened one by one.
//!
//! The definitions:
//! - **First response**: from the first customer message of a conversation, or of a
//!   reopen, to the first agent reply on a customer channel. Notes, automatic replies
//!   and rules' actions are not replies.
//! - **Reply time**: from each later customer message that waits for an answer (the
//!   first of a run) to the next agent reply.
//! - **Resolution time**: from the conversation's creation, or its reopen, to its
//!   resolve; each resolve counts, and a reopen starts a new one.
//! - **First-contact resolution**: a resolve with exactly one agent reply since the
//!   conversation (or its reopen) began, not reopened within [`FCR_REOPEN_WINDOW`].
//!
//! Times are kept in calendar seconds and in business seconds (the open time of the
//! calendar of the SLA policy that fits the conversation; around the clock without one).
//! Medians and p90s come from histograms whose bins are exact below a minute and 5 %
//! wide above it, so a percentile is within 2.5 % of the exact one.

use super::{AgentId, BusinessHours, Channel, ConversationId, Priority, TeamId};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counters are kept per half hour (UTC): a report in any zone whose offset is a whole
/// number of half hours (Tehran, Kolkata) counts whole local days.
pub const BUCKET_SECS: i64 = 1800;

/// Counters are kept twice: per half hour, and per UTC day, so that a report over many
/// days adds up one counter a day for its whole days and half hours only at its ends.
pub const DAY_SECS: i64 = 86_400;

/// How long a counter's span is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grain {
    HalfHour,
    /// A UTC day.
    Day,
}

impl Grain {
    pub fn secs(self) -> i64 {
        match self {
            Self::HalfHour => BUCKET_SECS,
            Self::Day => DAY_SECS,
        }
    }

    /// The start of the span of this grain `at` falls in.
    pub fn bucket_of(self, at: DateTime<Utc>) -> i64 {
        at.timestamp().div_euclid(self.secs()) * self.secs()
    }
}

/// A resolve reopened within this long was not a first-contact resolution.
pub const FCR_REOPEN_WINDOW: Duration = Duration::days(7);

/// Conversation tags counted as dimensions, at most (the first ones, in order): so that
/// what one change counts fits one DynamoDB transaction (a test holds it to that).
pub const MAX_TAG_DIMENSIONS: usize = 6;

/// Recent log entries a track remembers, so a batch handed over twice counts once: more
/// than one batch of the log holds.
const TAKEN_KEPT: usize = 128;

/// What is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Conversations,
    IncomingMessages,
    OutgoingMessages,
    FirstResponse,
    FirstResponseBusiness,
    ReplyTime,
    ReplyTimeBusiness,
    Resolutions,
    ResolutionTime,
    ResolutionTimeBusiness,
    FirstContactResolutions,
    Reopened,
    /// A tag put on a conversation (counted for that tag only).
    Tagged,
    /// A satisfaction survey sent.
    SurveysSent,
    /// A rating given: its value (1–5) is what is summed and spread.
    CsatRatings,
    /// A "would you recommend us" score given (0–10), summed and spread the same way.
    NpsScores,
}

impl Metric {
    pub const ALL: [Self; 16] = [
        Self::Conversations,
        Self::IncomingMessages,
        Self::OutgoingMessages,
        Self::FirstResponse,
        Self::FirstResponseBusiness,
        Self::ReplyTime,
        Self::ReplyTimeBusiness,
        Self::Resolutions,
        Self::ResolutionTime,
        Self::ResolutionTimeBusiness,
        Self::FirstContactResolutions,
        Self::Reopened,
        Self::Tagged,
        Self::SurveysSent,
        Self::CsatRatings,
        Self::NpsScores,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Conversations => "conversations",
            Self::IncomingMessages => "incoming_messages",
            Self::OutgoingMessages => "outgoing_messages",
            Self::FirstResponse => "first_response",
            Self::FirstResponseBusiness => "first_response_business",
            Self::ReplyTime => "reply_time",
            Self::ReplyTimeBusiness => "reply_time_business",
            Self::Resolutions => "resolutions",
            Self::ResolutionTime => "resolution_time",
            Self::ResolutionTimeBusiness => "resolution_time_business",
            Self::FirstContactResolutions => "first_contact_resolutions",
            Self::Reopened => "reopened",
            Self::Tagged => "tagged",
            Self::SurveysSent => "surveys_sent",
            Self::CsatRatings => "csat_ratings",
            Self::NpsScores => "nps_scores",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

/// Whom a counter is about: `all`, `channel:telegram`, `team:tm_…`, `agent:ag_…`,
/// `priority:high` or `tag:refund`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dimension(String);

impl Dimension {
    pub fn all() -> Self {
        Self("all".into())
    }
    pub fn channel(channel: Channel) -> Self {
        Self(format!("channel:{}", channel.as_str()))
    }
    pub fn team(team: TeamId) -> Self {
        Self(format!("team:{team}"))
    }
    pub fn agent(agent: AgentId) -> Self {
        Self(format!("agent:{agent}"))
    }
    pub fn priority(priority: Priority) -> Self {
        Self(format!("priority:{}", priority.as_str()))
    }
    pub fn tag(tag: &str) -> Self {
        Self(format!("tag:{tag}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The tag, for a tag's dimension.
    pub fn tag_name(&self) -> Option<&str> {
        self.0.strip_prefix("tag:")
    }
}

/// The histogram bin of a value in seconds: exact below a minute, then 5 % wide.
pub fn bin_of(secs: u64) -> u16 {
    if secs < 60 {
        return secs as u16;
    }
    let steps = ((secs as f64 / 60.0).ln() / GROWTH.ln()).floor();
    60 + steps.clamp(0.0, 4000.0) as u16
}

/// The value a bin stands for: its own below a minute, the middle of its span above.
pub fn bin_value(bin: u16) -> u64 {
    if bin < 60 {
        return u64::from(bin);
    }
    let lower = 60.0 * GROWTH.powi(i32::from(bin - 60));
    (lower * GROWTH.sqrt()).round() as u64
}

const GROWTH: f64 = 1.05;

/// One addition to a counter: `count` more (fewer, when negative) of `metric` for
/// `dimension` in the half hour (or day, by `grain`) starting at `bucket` (UTC seconds),
/// in histogram bin `bin` (0 for a plain count), adding `sum` seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Count {
    pub dimension: Dimension,
    pub grain: Grain,
    pub bucket: i64,
    pub metric: Metric,
    pub bin: u16,
    pub count: i64,
    pub sum: i64,
}

/// A counter added up over a period: how many, their total, and how they spread.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub count: i64,
    pub sum: i64,
    pub bins: BTreeMap<u16, i64>,
}

impl Tally {
    pub fn add(&mut self, bin: u16, count: i64, sum: i64) {
        self.count += count;
        self.sum += sum;
        *self.bins.entry(bin).or_default() += count;
    }

    /// Adds another tally of the same metric in.
    pub fn merge(&mut self, other: &Tally) {
        self.count += other.count;
        self.sum += other.sum;
        for (bin, n) in &other.bins {
            *self.bins.entry(*bin).or_default() += n;
        }
    }

    /// The mean in seconds; none when nothing was counted.
    pub fn average(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// The value below which a share `p` (0.5: the median) of the counted fall, by
    /// nearest rank; none when nothing was counted.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        if self.count <= 0 {
            return None;
        }
        let rank = ((p * self.count as f64).ceil() as i64).clamp(1, self.count);
        let mut seen = 0;
        for (bin, n) in &self.bins {
            seen += n;
            if seen >= rank {
                return Some(bin_value(*bin));
            }
        }
        self.bins.keys().next_back().map(|b| bin_value(*b))
    }
}

/// What a conversation is, for counting: whom its counters are about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub channel: Channel,
    pub team_id: Option<TeamId>,
    pub assignee_id: Option<AgentId>,
    pub priority: Priority,
    pub tags: Vec<String>,
}

impl Snapshot {
    /// Everyone, its channel, team, priority and first tags, and `agent` (the one who
    /// replied) or else its assignee.
    pub fn dimensions(&self, agent: Option<AgentId>) -> Vec<Dimension> {
        let mut all = vec![
            Dimension::all(),
            Dimension::channel(self.channel),
            Dimension::priority(self.priority),
        ];
        all.extend(self.team_id.map(Dimension::team));
        all.extend(agent.or(self.assignee_id).map(Dimension::agent));
        all.extend(
            self.tags
                .iter()
                .take(MAX_TAG_DIMENSIONS)
                .map(|t| Dimension::tag(t)),
        );
        all
    }
}

/// What happened to a conversation, as reporting cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occurrence {
    Created(DateTime<Utc>),
    CustomerMessage(DateTime<Utc>),
    /// A reply an agent wrote on a customer channel.
    AgentReply(DateTime<Utc>, AgentId),
    Resolved(DateTime<Utc>),
    /// Open again after a resolve (a customer's message or an agent's hand).
    Reopened(DateTime<Utc>),
    /// A satisfaction survey went to the customer.
    SurveySent(DateTime<Utc>),
    /// The customer rated the conversation (1–5), with a 0–10 score when asked.
    Rated(DateTime<Utc>, u8, Option<u8>),
}

/// A fact to count: a metric at an instant, with a value in seconds when timed, about
/// the dimensions given (or the conversation's own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    pub metric: Metric,
    pub at: DateTime<Utc>,
    pub secs: Option<u64>,
    pub count: i64,
    pub dimensions: Option<Vec<Dimension>>,
}

impl Fact {
    fn count(metric: Metric, at: DateTime<Utc>) -> Self {
        Self {
            metric,
            at,
            secs: None,
            count: 1,
            dimensions: None,
        }
    }

    /// `tag` put on the conversation at `at`: counted for the tag alone.
    pub fn tagged(at: DateTime<Utc>, tag: &str) -> Self {
        Self {
            dimensions: Some(vec![Dimension::tag(tag)]),
            ..Self::count(Metric::Tagged, at)
        }
    }

    fn timed(metric: Metric, at: DateTime<Utc>, secs: u64) -> Self {
        Self {
            secs: Some(secs),
            ..Self::count(metric, at)
        }
    }

    /// The additions to counters this fact makes, about `dimensions`: to its half hour's
    /// and to its day's.
    pub fn counts(&self, dimensions: &[Dimension]) -> Vec<Count> {
        let (bin, sum) = match self.secs {
            Some(secs) => (bin_of(secs), i64::try_from(secs).unwrap_or(i64::MAX)),
            None => (0, 0),
        };
        let dimensions = self.dimensions.as_deref().unwrap_or(dimensions);
        [Grain::HalfHour, Grain::Day]
            .into_iter()
            .flat_map(|grain| {
                dimensions.iter().map(move |dimension| Count {
                    dimension: dimension.clone(),
                    grain,
                    bucket: grain.bucket_of(self.at),
                    metric: self.metric,
                    bin,
                    count: self.count,
                    sum: sum.saturating_mul(self.count),
                })
            })
            .collect()
    }
}

/// A resolve that counted as first-contact resolution, until its window passes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountedResolution {
    pub at: DateTime<Utc>,
    pub dimensions: Vec<String>,
}

/// Where one conversation stands for reporting: what waits for an answer, and how many
/// replies the current cycle (since creation or the last reopen) has had.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportTrack {
    pub conversation_id: ConversationId,
    /// 0 until stored; stores use it for optimistic concurrency.
    #[serde(default)]
    pub version: u64,
    /// When the current cycle began: creation or the last reopen.
    pub cycle_since: Option<DateTime<Utc>>,
    /// The cycle's first customer message, while it waits for its first response.
    pub first_waiting_since: Option<DateTime<Utc>>,
    /// The cycle has had its first response.
    pub answered: bool,
    /// The first of the customer's messages waiting for a later reply.
    pub waiting_since: Option<DateTime<Utc>>,
    pub agent_replies: u32,
    pub resolved: bool,
    /// Its start came before counting began: until a reopen starts a cycle afresh, only
    /// volumes are counted (no times, no first-contact resolution).
    #[serde(default)]
    pub partial: bool,
    pub fcr: Option<CountedResolution>,
    /// Ids of the log entries already counted, newest last.
    pub taken: Vec<String>,
}

impl ReportTrack {
    pub fn new(conversation_id: ConversationId) -> Self {
        Self {
            conversation_id,
            version: 0,
            cycle_since: None,
            first_waiting_since: None,
            answered: false,
            waiting_since: None,
            agent_replies: 0,
            resolved: false,
            partial: false,
            fcr: None,
            taken: Vec::new(),
        }
    }

    /// The track of a conversation begun before counting did, met first at a later
    /// change.
    pub fn joined_late(conversation_id: ConversationId) -> Self {
        Self {
            partial: true,
            ..Self::new(conversation_id)
        }
    }

    /// Marks the log entry `id` counted; false when it already was.
    pub fn take_change(&mut self, id: &str) -> bool {
        if self.taken.iter().any(|t| t == id) {
            return false;
        }
        self.taken.push(id.to_owned());
        if self.taken.len() > TAKEN_KEPT {
            self.taken.remove(0);
        }
        true
    }

    /// The facts `happening` makes, moving the track on. `calendar` measures business
    /// time (none: around the clock); `dimensions` are the conversation's as it stands,
    /// kept with a first-contact resolution so that a reopen takes it back from the same
    /// counters.
    pub fn apply(
        &mut self,
        happening: Occurrence,
        calendar: Option<&BusinessHours>,
        dimensions: &[Dimension],
    ) -> Vec<Fact> {
        let timed = |metric: Metric, business: Metric, from: DateTime<Utc>, to: DateTime<Utc>| {
            let secs = |d: Duration| u64::try_from(d.num_seconds()).unwrap_or(0);
            let open = calendar.map_or(to - from, |c| c.open_time_between(from, to));
            [
                Fact::timed(metric, to, secs(to - from)),
                Fact::timed(business, to, secs(open)),
            ]
        };
        let mut facts = Vec::new();
        match happening {
            Occurrence::Created(at) => {
                self.cycle_since.get_or_insert(at);
                facts.push(Fact::count(Metric::Conversations, at));
            }
            Occurrence::CustomerMessage(at) => {
                facts.push(Fact::count(Metric::IncomingMessages, at));
                if self.resolved {
                    // Its reopen comes next in the log; the message starts that cycle.
                    self.reopen(at, &mut facts);
                }
                if self.partial {
                    // Whether it is a first message or a later one is not known.
                } else if self.answered {
                    self.waiting_since.get_or_insert(at);
                } else {
                    self.first_waiting_since.get_or_insert(at);
                }
            }
            Occurrence::AgentReply(at, agent) => {
                let mut reply = Fact::count(Metric::OutgoingMessages, at);
                let mut mine: Vec<Dimension> = dimensions
                    .iter()
                    .filter(|d| !d.as_str().starts_with("agent:"))
                    .cloned()
                    .collect();
                mine.push(Dimension::agent(agent));
                reply.dimensions = Some(mine.clone());
                facts.push(reply);
                self.agent_replies += 1;
                let answered = if let Some(since) = self.first_waiting_since.take() {
                    timed(
                        Metric::FirstResponse,
                        Metric::FirstResponseBusiness,
                        since,
                        at,
                    )
                    .to_vec()
                } else if let Some(since) = self.waiting_since.take() {
                    timed(Metric::ReplyTime, Metric::ReplyTimeBusiness, since, at).to_vec()
                } else {
                    Vec::new()
                };
                facts.extend(answered.into_iter().map(|mut f| {
                    f.dimensions = Some(mine.clone());
                    f
                }));
                self.answered = true;
                self.waiting_since = None;
            }
            Occurrence::Resolved(at) => {
                if self.resolved {
                    return facts;
                }
                self.resolved = true;
                facts.push(Fact::count(Metric::Resolutions, at));
                if let Some(since) = self.cycle_since.filter(|_| !self.partial) {
                    facts.extend(timed(
                        Metric::ResolutionTime,
                        Metric::ResolutionTimeBusiness,
                        since,
                        at,
                    ));
                }
                if self.agent_replies == 1 && !self.partial {
                    facts.push(Fact::count(Metric::FirstContactResolutions, at));
                    self.fcr = Some(CountedResolution {
                        at,
                        dimensions: dimensions.iter().map(|d| d.0.clone()).collect(),
                    });
                } else {
                    self.fcr = None;
                }
                self.first_waiting_since = None;
                self.waiting_since = None;
            }
            Occurrence::Reopened(at) => {
                if self.resolved {
                    self.reopen(at, &mut facts);
                }
            }
            Occurrence::SurveySent(at) => facts.push(Fact::count(Metric::SurveysSent, at)),
            Occurrence::Rated(at, rating, nps) => {
                facts.push(Fact::timed(Metric::CsatRatings, at, u64::from(rating)));
                if let Some(score) = nps {
                    facts.push(Fact::timed(Metric::NpsScores, at, u64::from(score)));
                }
            }
        }
        facts
    }

    fn reopen(&mut self, at: DateTime<Utc>, facts: &mut Vec<Fact>) {
        self.resolved = false;
        self.partial = false;
        facts.push(Fact::count(Metric::Reopened, at));
        if let Some(fcr) = self.fcr.take()
            && at - fcr.at <= FCR_REOPEN_WINDOW
        {
            facts.push(Fact {
                count: -1,
                dimensions: Some(fcr.dimensions.into_iter().map(Dimension).collect()),
                ..Fact::count(Metric::FirstContactResolutions, fcr.at)
            });
        }
        self.cycle_since = Some(at);
        self.answered = false;
        self.agent_replies = 0;
        self.first_waiting_since = None;
        self.waiting_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Priority, TeamId};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn track() -> ReportTrack {
        ReportTrack::new(ConversationId::new())
    }

    fn dims() -> Vec<Dimension> {
        Snapshot {
            channel: Channel::Telegram,
            team_id: None,
            assignee_id: None,
            priority: Priority::Normal,
            tags: vec!["refund".into()],
        }
        .dimensions(None)
    }

    fn timed(facts: &[Fact], metric: Metric) -> Vec<u64> {
        facts
            .iter()
            .filter(|f| f.metric == metric)
            .filter_map(|f| f.secs)
            .collect()
    }

    fn run(
        track: &mut ReportTrack,
        happenings: &[Occurrence],
        calendar: Option<&BusinessHours>,
    ) -> Vec<Fact> {
        happenings
            .iter()
            .flat_map(|h| track.apply(*h, calendar, &dims()))
            .collect()
    }

    #[test]
    fn first_response_runs_from_the_first_message_to_the_first_agent_reply() {
        let agent = AgentId::new();
        let mut t = track();
        let facts = run(
            &mut t,
            &[
                Occurrence::Created(at("2026-12-01T10:00:00Z")),
                Occurrence::CustomerMessage(at("2026-12-01T10:00:00Z")),
                Occurrence::CustomerMessage(at("2026-12-01T10:05:00Z")),
                Occurrence::AgentReply(at("2026-12-01T10:30:00Z"), agent),
                Occurrence::CustomerMessage(at("2026-12-01T11:00:00Z")),
                Occurrence::CustomerMessage(at("2026-12-01T11:01:00Z")),
                Occurrence::AgentReply(at("2026-12-01T11:10:00Z"), agent),
                // A second reply with nothing waiting answers nothing.
                Occurrence::AgentReply(at("2026-12-01T11:11:00Z"), agent),
            ],
            None,
        );
        assert_eq!(timed(&facts, Metric::FirstResponse), [1800]);
        assert_eq!(timed(&facts, Metric::ReplyTime), [600]);
        assert_eq!(
            facts
                .iter()
                .filter(|f| f.metric == Metric::OutgoingMessages)
                .count(),
            3
        );
        assert_eq!(
            facts
                .iter()
                .filter(|f| f.metric == Metric::IncomingMessages)
                .count(),
            4
        );
        // The reply's counters are the replying agent's, not the (absent) assignee's.
        let reply = facts
            .iter()
            .find(|f| f.metric == Metric::FirstResponse)
            .unwrap();
        assert!(
            reply
                .dimensions
                .as_ref()
                .unwrap()
                .contains(&Dimension::agent(agent)),
            "{reply:?}"
        );
    }

    #[test]
    fn only_an_agents_reply_answers_the_first_message() {
        // The keeper turns only agents' replies into `AgentReply`: without one, the
        // first response stays owed however much else happens.
        let mut t = track();
        run(
            &mut t,
            &[
                Occurrence::Created(at("2026-12-01T10:00:00Z")),
                Occurrence::CustomerMessage(at("2026-12-01T10:00:00Z")),
            ],
            None,
        );
        assert_eq!(t.first_waiting_since, Some(at("2026-12-01T10:00:00Z")));
        let facts = run(
            &mut t,
            &[Occurrence::AgentReply(
                at("2026-12-01T12:00:00Z"),
                AgentId::new(),
            )],
            None,
        );
        assert_eq!(timed(&facts, Metric::FirstResponse), [7200]);
    }

    #[test]
    fn a_reopen_starts_a_new_first_response_and_takes_back_a_first_contact_resolution() {
        let agent = AgentId::new();
        let mut t = track();
        let first = run(
            &mut t,
            &[
                Occurrence::Created(at("2026-12-01T10:00:00Z")),
                Occurrence::CustomerMessage(at("2026-12-01T10:00:00Z")),
                Occurrence::AgentReply(at("2026-12-01T10:10:00Z"), agent),
                Occurrence::Resolved(at("2026-12-01T11:00:00Z")),
                // Told twice (a status change and its echo): counted once.
                Occurrence::Resolved(at("2026-12-01T11:00:01Z")),
            ],
            None,
        );
        assert_eq!(timed(&first, Metric::ResolutionTime), [3600]);
        let fcr: i64 = first
            .iter()
            .filter(|f| f.metric == Metric::FirstContactResolutions)
            .map(|f| f.count)
            .sum();
        assert_eq!(fcr, 1);
        let again = run(
            &mut t,
            &[
                Occurrence::CustomerMessage(at("2026-12-03T09:00:00Z")),
                Occurrence::Reopened(at("2026-12-03T09:00:00Z")),
                Occurrence::AgentReply(at("2026-12-03T09:20:00Z"), agent),
                Occurrence::Resolved(at("2026-12-03T10:00:00Z")),
            ],
            None,
        );
        let back: Vec<&Fact> = again
            .iter()
            .filter(|f| f.metric == Metric::FirstContactResolutions)
            .collect();
        // Taken back from the first resolve's half hour, then counted for the second.
        assert_eq!(back.len(), 2, "{back:?}");
        assert_eq!(
            (back[0].count, back[0].at),
            (-1, at("2026-12-01T11:00:00Z"))
        );
        assert_eq!(back[1].count, 1);
        assert_eq!(timed(&again, Metric::FirstResponse), [1200]);
        assert_eq!(timed(&again, Metric::ResolutionTime), [3600]);
        assert_eq!(
            again
                .iter()
                .filter(|f| f.metric == Metric::Reopened)
                .count(),
            1
        );
    }

    #[test]
    fn a_reopen_after_the_window_keeps_the_first_contact_resolution() {
        let agent = AgentId::new();
        let mut t = track();
        let facts = run(
            &mut t,
            &[
                Occurrence::Created(at("2026-12-01T10:00:00Z")),
                Occurrence::CustomerMessage(at("2026-12-01T10:00:00Z")),
                Occurrence::AgentReply(at("2026-12-01T10:10:00Z"), agent),
                Occurrence::AgentReply(at("2026-12-01T10:11:00Z"), agent),
                Occurrence::Resolved(at("2026-12-01T11:00:00Z")),
            ],
            None,
        );
        assert!(
            !facts
                .iter()
                .any(|f| f.metric == Metric::FirstContactResolutions),
            "two replies are no first-contact resolution"
        );
        let mut t = track();
        run(
            &mut t,
            &[
                Occurrence::Created(at("2026-12-01T10:00:00Z")),
                Occurrence::CustomerMessage(at("2026-12-01T10:00:00Z")),
                Occurrence::AgentReply(at("2026-12-01T10:10:00Z"), agent),
                Occurrence::Resolved(at("2026-12-01T11:00:00Z")),
            ],
            None,
        );
        let later = run(
            &mut t,
            &[Occurrence::Reopened(at("2026-12-20T09:00:00Z"))],
            None,
        );
        assert!(
            !later
                .iter()
                .any(|f| f.metric == Metric::FirstContactResolutions)
        );
    }

    #[test]
    fn a_conversation_begun_before_counting_counts_volumes_until_a_reopen() {
        let agent = AgentId::new();
        let mut t = ReportTrack::joined_late(ConversationId::new());
        let facts = run(
            &mut t,
            &[
                Occurrence::CustomerMessage(at("2026-12-01T10:00:00Z")),
                Occurrence::AgentReply(at("2026-12-01T10:10:00Z"), agent),
                Occurrence::Resolved(at("2026-12-01T11:00:00Z")),
            ],
            None,
        );
        let metrics: Vec<Metric> = facts.iter().map(|f| f.metric).collect();
        assert_eq!(
            metrics,
            [
                Metric::IncomingMessages,
                Metric::OutgoingMessages,
                Metric::Resolutions
            ],
            "no times and no first-contact resolution from half a history"
        );
        let again = run(
            &mut t,
            &[
                Occurrence::CustomerMessage(at("2026-12-02T10:00:00Z")),
                Occurrence::AgentReply(at("2026-12-02T10:05:00Z"), agent),
                Occurrence::Resolved(at("2026-12-02T11:00:00Z")),
            ],
            None,
        );
        assert_eq!(timed(&again, Metric::FirstResponse), [300]);
        assert_eq!(
            again
                .iter()
                .filter(|f| f.metric == Metric::FirstContactResolutions)
                .count(),
            1
        );
    }

    #[test]
    fn business_time_skips_the_weekend() {
        // Open Saturday to Wednesday in Tehran: a message on Wednesday evening answered
        // on Saturday morning waited one open hour.
        let calendar = BusinessHours::parse("sat-wed 09:00-17:00 Asia/Tehran").unwrap();
        let mut t = track();
        let facts = run(
            &mut t,
            &[
                Occurrence::Created(at("2026-12-02T12:30:00Z")),
                // Wednesday 16:00 in Tehran.
                Occurrence::CustomerMessage(at("2026-12-02T12:30:00Z")),
                // Saturday 10:00 in Tehran.
                Occurrence::AgentReply(at("2026-12-05T06:30:00Z"), AgentId::new()),
            ],
            Some(&calendar),
        );
        assert_eq!(
            timed(&facts, Metric::FirstResponse),
            [2 * 86400 + 18 * 3600]
        );
        assert_eq!(timed(&facts, Metric::FirstResponseBusiness), [7200]);
    }

    #[test]
    fn what_one_change_counts_fits_one_record() {
        use std::collections::HashSet;
        let snapshot = Snapshot {
            channel: Channel::Web,
            team_id: Some(TeamId::new()),
            assignee_id: Some(AgentId::new()),
            priority: Priority::High,
            tags: (0..20).map(|n| format!("t{n}")).collect(),
        };
        let dims = snapshot.dimensions(None);
        let agent = AgentId::new();
        let mut t = track();
        let mut widest = 0;
        for o in [
            Occurrence::Created(at("2026-12-01T10:00:00Z")),
            Occurrence::CustomerMessage(at("2026-12-01T10:00:00Z")),
            Occurrence::AgentReply(at("2026-12-01T10:10:00Z"), agent),
            Occurrence::Resolved(at("2026-12-01T11:00:00Z")),
            Occurrence::CustomerMessage(at("2026-12-02T09:00:00Z")),
            Occurrence::AgentReply(at("2026-12-02T09:10:00Z"), agent),
            Occurrence::Resolved(at("2026-12-02T10:00:00Z")),
        ] {
            let counters: HashSet<_> = t
                .apply(o, None, &dims)
                .iter()
                .flat_map(|f| f.counts(&dims))
                .map(|c| (c.dimension, c.grain, c.bucket, c.metric))
                .collect();
            widest = widest.max(counters.len());
        }
        assert!(widest <= crate::ports::MAX_COUNTS, "{widest} counters");
        assert!(widest >= 80, "the widest change was exercised: {widest}");
    }

    #[test]
    fn percentiles_are_within_their_bins_width() {
        let values: Vec<u64> = (1..=1000).map(|i| i * 37).collect();
        let mut tally = Tally::default();
        for v in &values {
            tally.add(bin_of(*v), 1, *v as i64);
        }
        for (p, exact) in [(0.5, values[499]), (0.9, values[899]), (0.99, values[989])] {
            let got = tally.percentile(p).unwrap() as f64;
            let off = (got - exact as f64).abs() / exact as f64;
            assert!(off <= 0.025, "p{p}: {got} against {exact}");
        }
        assert_eq!(tally.average(), Some(37.0 * 500.5));
        for secs in 0..60 {
            assert_eq!(bin_value(bin_of(secs)), secs);
        }
        assert_eq!(Tally::default().percentile(0.5), None);
    }
}
