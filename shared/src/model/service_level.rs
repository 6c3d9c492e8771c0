//! Service levels as an admin sets them (calendars, policies) and as one conversation
//! carries them: the policy's targets for its priority, its calendar, and its clocks.

use super::calendar::BusinessHours;
use super::sla::{SlaClocks, SlaFact, SlaStatus, SlaTarget, SlaTargets, TargetState, Urgency};
use super::{CalendarId, Channel, ConversationId, Priority, SlaPolicyId, TeamId};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Business hours with a name, and the dates they are closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Calendar {
    pub id: CalendarId,
    pub name: String,
    /// `<days> <hours> … <zone>`, e.g. `sat-wed 09:00-17:00 Asia/Tehran`.
    #[schema(example = "sat-wed 09:00-17:00 Asia/Tehran")]
    pub hours: String,
    /// Local dates closed all day, e.g. Nowruz.
    #[serde(default)]
    #[schema(value_type = Vec<String>, example = json!(["2027-03-21", "2027-03-22"]))]
    pub holidays: Vec<NaiveDate>,
}

impl Calendar {
    /// The hours this calendar stands for; an error names what is wrong with them.
    pub fn business_hours(&self) -> Result<BusinessHours, String> {
        Ok(BusinessHours::parse(&self.hours)?.with_holidays(self.holidays.iter().copied()))
    }
}

/// The longest target: a year.
pub const MAX_TARGET_SECS: u32 = 366 * 24 * 3600;

/// The targets of one priority, in seconds; none: not measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TargetSeconds {
    /// From the customer's first message to an agent's first reply.
    #[schema(minimum = 1, maximum = 31622400)]
    pub first_response_secs: Option<u32>,
    /// From a customer's message that follows a reply to the next reply.
    #[schema(minimum = 1, maximum = 31622400)]
    pub next_response_secs: Option<u32>,
    /// From the first message to the resolve.
    #[schema(minimum = 1, maximum = 31622400)]
    pub resolution_secs: Option<u32>,
}

impl TargetSeconds {
    pub fn targets(&self) -> SlaTargets {
        let of = |secs: Option<u32>| secs.map(|s| Duration::seconds(i64::from(s)));
        SlaTargets {
            first_response: of(self.first_response_secs),
            next_response: of(self.next_response_secs),
            resolution: of(self.resolution_secs),
        }
    }

    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The targets of each priority; a priority left out is not measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PriorityTargets {
    #[serde(default)]
    pub urgent: TargetSeconds,
    #[serde(default)]
    pub high: TargetSeconds,
    #[serde(default)]
    pub normal: TargetSeconds,
    #[serde(default)]
    pub low: TargetSeconds,
}

impl PriorityTargets {
    pub fn of(&self, priority: Priority) -> TargetSeconds {
        match priority {
            Priority::Urgent => self.urgent,
            Priority::High => self.high,
            Priority::Normal => self.normal,
            Priority::Low => self.low,
        }
    }
}

/// Response and resolution targets per priority, counted in a calendar's hours (none:
/// around the clock), for the conversations of some teams and channels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlaPolicy {
    pub id: SlaPolicyId,
    pub name: String,
    pub calendar_id: Option<CalendarId>,
    /// The teams whose conversations it covers; empty: any team, or none.
    #[serde(default)]
    pub teams: Vec<TeamId>,
    /// The channels a conversation starts on that it covers; empty: every channel.
    #[serde(default)]
    pub channels: Vec<Channel>,
    pub targets: PriorityTargets,
}

impl SlaPolicy {
    /// What is wrong with it, if anything.
    pub fn problem(&self) -> Option<String> {
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Some("a policy's name is 1 to 100 characters".into());
        }
        let all = [
            self.targets.urgent,
            self.targets.high,
            self.targets.normal,
            self.targets.low,
        ];
        if all.iter().all(TargetSeconds::is_empty) {
            return Some("a policy sets at least one target".into());
        }
        let out_of_range = all.iter().any(|t| {
            [
                t.first_response_secs,
                t.next_response_secs,
                t.resolution_secs,
            ]
            .into_iter()
            .flatten()
            .any(|secs| !(1..=MAX_TARGET_SECS).contains(&secs))
        });
        out_of_range.then(|| "a target is at least one second and at most a year".into())
    }

    /// How closely it fits a conversation of `team` that began on `channel`: none when
    /// it does not cover it; else the more it names (a team, a channel), the closer.
    fn fit(&self, team: Option<TeamId>, channel: Channel) -> Option<u8> {
        let team_fits = self.teams.is_empty() || team.is_some_and(|t| self.teams.contains(&t));
        let channel_fits = self.channels.is_empty() || self.channels.contains(&channel);
        (team_fits && channel_fits)
            .then(|| 2 * u8::from(!self.teams.is_empty()) + u8::from(!self.channels.is_empty()))
    }
}

/// The policy that covers a conversation of `team` begun on `channel`: the closest fit
/// (a policy naming the team before one naming only the channel, before one naming
/// neither); among equals, the first made.
pub fn policy_for(
    policies: &[SlaPolicy],
    team: Option<TeamId>,
    channel: Channel,
) -> Option<&SlaPolicy> {
    policies
        .iter()
        .filter_map(|p| p.fit(team, channel).map(|fit| (fit, p)))
        .max_by(|(a, pa), (b, pb)| a.cmp(b).then(pb.id.cmp(&pa.id)))
        .map(|(_, p)| p)
}

/// A target falling due (or due) at a time: what a warning or a breach event tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breach {
    pub target: SlaTarget,
    pub due_at: DateTime<Utc>,
}

/// What one look at a conversation's clocks has to tell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Announced {
    /// Targets with a quarter of their time or less left.
    pub due_soon: Vec<Breach>,
    pub breached: Vec<Breach>,
}

impl Announced {
    pub fn is_empty(&self) -> bool {
        self.due_soon.is_empty() && self.breached.is_empty()
    }
}

/// How many change ids a record remembers, to take a redelivered change only once.
const REMEMBERED_CHANGES: usize = 64;

/// One conversation's service level: what it is measured against and where its clocks
/// stand, kept by the SLA keeper as the event log tells it what happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationSla {
    pub conversation_id: ConversationId,
    pub policy_id: SlaPolicyId,
    pub policy_name: String,
    /// The priority `targets` are of.
    pub priority: Priority,
    pub targets: TargetSeconds,
    /// The calendar the clocks count in, as it was when applied; none: around the clock.
    pub calendar: Option<Calendar>,
    pub clocks: SlaClocks,
    /// When the earliest target still owed falls (or fell) due: the order of the list
    /// sorted by due time.
    pub due_at: Option<DateTime<Utc>>,
    /// When the sweeper must next look: the earliest target owed whose breach no event
    /// has told yet.
    pub wake_at: Option<DateTime<Utc>>,
    /// Breaches already told, so none is told twice.
    pub announced: Vec<Breach>,
    /// Targets already told due soon (a quarter of their time or less left), likewise.
    #[serde(default)]
    pub warned: Vec<Breach>,
    /// The latest changes taken, each as the first 32 bits of its id's SHA-256 (a
    /// fraction of the id's size, and the item's).
    pub seen: Vec<u32>,
    /// 0 until stored; bumped by each save.
    pub version: u64,
}

impl ConversationSla {
    /// A conversation's record under `policy`, counting in `calendar`.
    pub fn new(
        conversation_id: ConversationId,
        policy: &SlaPolicy,
        calendar: Option<Calendar>,
        priority: Priority,
    ) -> Self {
        Self {
            conversation_id,
            policy_id: policy.id,
            policy_name: policy.name.clone(),
            priority,
            targets: policy.targets.of(priority),
            calendar,
            clocks: SlaClocks::default(),
            due_at: None,
            wake_at: None,
            announced: Vec::new(),
            warned: Vec::new(),
            seen: Vec::new(),
            version: 0,
        }
    }

    pub fn hours(&self) -> BusinessHours {
        // A stored calendar was checked when saved; one unreadable since counts around
        // the clock rather than stopping every clock.
        self.calendar
            .as_ref()
            .and_then(|c| c.business_hours().ok())
            .unwrap_or_else(BusinessHours::always)
    }

    /// Whether the change `id` was taken already; remembers it if not.
    pub fn take_change(&mut self, id: &str) -> bool {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(id.as_bytes());
        let short = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        if self.seen.contains(&short) {
            return false;
        }
        if self.seen.len() == REMEMBERED_CHANGES {
            self.seen.remove(0);
        }
        self.seen.push(short);
        true
    }

    pub fn apply(&mut self, fact: SlaFact) {
        let hours = self.hours();
        self.clocks.apply(&self.targets.targets(), &hours, fact);
        self.schedule(&hours);
    }

    /// Measures against `policy`'s targets for `priority` from `at` on.
    pub fn retarget(
        &mut self,
        policy_targets: &PriorityTargets,
        priority: Priority,
        at: DateTime<Utc>,
    ) {
        let hours = self.hours();
        self.priority = priority;
        self.targets = policy_targets.of(priority);
        self.clocks.retarget(&self.targets.targets(), &hours, at);
        self.schedule(&hours);
    }

    /// Measures against `policy` (counting in `calendar`) from `at` on: what the clocks
    /// spent stays spent, counted in the old hours up to `at` and the new ones after.
    pub fn switch_policy(
        &mut self,
        policy: &SlaPolicy,
        calendar: Option<Calendar>,
        at: DateTime<Utc>,
    ) {
        let old_hours = self.hours();
        self.policy_id = policy.id;
        self.policy_name = policy.name.clone();
        self.targets = policy.targets.of(self.priority);
        self.clocks
            .retarget(&self.targets.targets(), &old_hours, at);
        self.calendar = calendar;
        let hours = self.hours();
        self.schedule(&hours);
    }

    pub fn status(&self, now: DateTime<Utc>) -> SlaStatus {
        self.clocks.status(&self.hours(), now)
    }

    /// The targets owed at `now` that no event has told of yet, remembered as told:
    /// those due soon (a quarter of their time or less left) and those breached. A
    /// target breached before it was told due soon is told breached only.
    pub fn announce(&mut self, now: DateTime<Utc>) -> Announced {
        let hours = self.hours();
        let mut told = Announced::default();
        for (target, due_at) in self.clocks.owed(&hours) {
            let point = Breach { target, due_at };
            if self.announced.contains(&point) {
                continue;
            }
            if due_at <= now {
                self.announced.push(point);
                told.breached.push(point);
                if !self.warned.contains(&point) {
                    self.warned.push(point);
                }
            } else if self.warn_at(target, due_at).is_some_and(|w| w <= now)
                && !self.warned.contains(&point)
            {
                self.warned.push(point);
                told.due_soon.push(point);
            }
        }
        self.schedule(&hours);
        told
    }

    /// When `target`, due at `due_at`, has a quarter of its time left (wall-clock, as
    /// the list's `due_soon` counts it).
    fn warn_at(&self, target: SlaTarget, due_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let targets = self.targets.targets();
        let length = match target {
            SlaTarget::FirstResponse => targets.first_response,
            SlaTarget::NextResponse => targets.next_response,
            SlaTarget::Resolution => targets.resolution,
        }?;
        Some(due_at - length / 4)
    }

    /// Stops every clock: the conversation is gone, and nothing is owed.
    pub fn forget(&mut self) {
        self.clocks = SlaClocks::default();
        self.due_at = None;
        self.wake_at = None;
    }

    fn schedule(&mut self, hours: &BusinessHours) {
        let owed = self.clocks.owed(hours);
        self.due_at = owed.iter().map(|(_, due)| *due).min();
        // The next thing to tell: a target's warning while it is untold, then its breach.
        self.wake_at = owed
            .iter()
            .filter_map(|&(target, due_at)| {
                let point = Breach { target, due_at };
                if self.announced.contains(&point) {
                    return None;
                }
                match self.warn_at(target, due_at) {
                    Some(warn) if !self.warned.contains(&point) => Some(warn.min(due_at)),
                    _ => Some(due_at),
                }
            })
            .min();
    }
}

/// Where one target stands, as an agent reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetPhase {
    /// The policy sets no such target, or its clock has not started.
    None,
    Running,
    /// Waiting on the customer, or snoozed.
    Paused,
    Met,
    Breached,
    /// Resolved before it was done, in time: nothing is owed.
    Stopped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TargetView {
    pub state: TargetPhase,
    /// The target, in seconds; none when not measured.
    pub target_secs: Option<u32>,
    /// When it falls due (running) or fell due (breached).
    pub due_at: Option<DateTime<Utc>>,
    /// When it was met or stopped.
    pub done_at: Option<DateTime<Utc>>,
    /// Seconds left (paused).
    pub left_secs: Option<i64>,
}

impl TargetView {
    fn of(state: TargetState, target_secs: Option<u32>) -> Self {
        let view = |state| Self {
            state,
            target_secs,
            due_at: None,
            done_at: None,
            left_secs: None,
        };
        match state {
            TargetState::None => view(TargetPhase::None),
            TargetState::Running { due_at } => Self {
                due_at: Some(due_at),
                ..view(TargetPhase::Running)
            },
            TargetState::Paused { left } => Self {
                left_secs: Some(left.num_seconds()),
                ..view(TargetPhase::Paused)
            },
            TargetState::Met { at } => Self {
                done_at: Some(at),
                ..view(TargetPhase::Met)
            },
            TargetState::Breached { due_at } => Self {
                due_at: Some(due_at),
                ..view(TargetPhase::Breached)
            },
            TargetState::Stopped { at } => Self {
                done_at: Some(at),
                ..view(TargetPhase::Stopped)
            },
        }
    }
}

/// A conversation's service level as it stands now: its policy, each target's state,
/// and how pressing it is.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SlaView {
    pub policy_id: SlaPolicyId,
    pub policy_name: String,
    /// The priority whose targets apply.
    pub priority: Priority,
    /// The worst of the three: `breached` once any ran out, `due_soon` with a quarter of
    /// a target or less left.
    pub urgency: Urgency,
    /// When the earliest target still owed falls (or fell) due.
    pub due_at: Option<DateTime<Utc>>,
    pub first_response: TargetView,
    pub next_response: TargetView,
    pub resolution: TargetView,
}

impl ConversationSla {
    pub fn view(&self, now: DateTime<Utc>) -> SlaView {
        let status = self.status(now);
        SlaView {
            policy_id: self.policy_id,
            policy_name: self.policy_name.clone(),
            priority: self.priority,
            urgency: status.urgency(&self.targets.targets(), now),
            due_at: self.due_at,
            first_response: TargetView::of(status.first_response, self.targets.first_response_secs),
            next_response: TargetView::of(status.next_response, self.targets.next_response_secs),
            resolution: TargetView::of(status.resolution, self.targets.resolution_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn policy(name: &str, teams: Vec<TeamId>, channels: Vec<Channel>) -> SlaPolicy {
        SlaPolicy {
            id: SlaPolicyId::new(),
            name: name.into(),
            calendar_id: None,
            teams,
            channels,
            targets: PriorityTargets {
                normal: TargetSeconds {
                    first_response_secs: Some(3600),
                    next_response_secs: None,
                    resolution_secs: Some(8 * 3600),
                },
                high: TargetSeconds {
                    first_response_secs: Some(900),
                    ..TargetSeconds::default()
                },
                ..PriorityTargets::default()
            },
        }
    }

    #[test]
    fn the_closest_policy_covers_a_conversation() {
        let payments = TeamId::new();
        let everyone = policy("everyone", vec![], vec![]);
        let email = policy("email", vec![], vec![Channel::Email]);
        let team = policy("payments", vec![payments], vec![]);
        let team_email = policy("payments by email", vec![payments], vec![Channel::Email]);
        let all = [everyone, email, team, team_email];
        let name = |team, channel| policy_for(&all, team, channel).map(|p| p.name.as_str());
        assert_eq!(name(None, Channel::Web), Some("everyone"));
        assert_eq!(name(None, Channel::Email), Some("email"));
        assert_eq!(name(Some(payments), Channel::Web), Some("payments"));
        assert_eq!(
            name(Some(payments), Channel::Email),
            Some("payments by email")
        );
        assert_eq!(
            name(Some(TeamId::new()), Channel::Telegram),
            Some("everyone")
        );
        assert_eq!(
            policy_for(&all[1..2], None, Channel::Sms).map(|p| p.id),
            None
        );
        // Among equals the first made wins, whatever order they are read in.
        let first = policy("first", vec![], vec![]);
        let second = policy("second", vec![], vec![]);
        let read = [second, first];
        assert_eq!(policy_for(&read, None, Channel::Web).unwrap().name, "first");
    }

    #[test]
    fn a_policy_sets_a_target_and_none_is_zero() {
        let mut p = policy("p", vec![], vec![]);
        assert_eq!(p.problem(), None);
        p.targets.high.first_response_secs = Some(0);
        assert!(p.problem().unwrap().contains("at least one second"));
        p.targets.high.first_response_secs = Some(MAX_TARGET_SECS + 1);
        assert!(p.problem().unwrap().contains("at most a year"));
        p.targets.high.first_response_secs = Some(MAX_TARGET_SECS);
        assert_eq!(p.problem(), None);
        assert_eq!(MAX_TARGET_SECS, 31_622_400, "the API schema's maximum");
        p.targets = PriorityTargets::default();
        assert!(p.problem().unwrap().contains("at least one target"));
        p.name = " ".into();
        assert!(p.problem().unwrap().contains("name"));
    }

    #[test]
    fn a_warning_then_a_breach_is_announced_once_and_the_sweeper_then_wakes_for_the_next() {
        let p = policy("p", vec![], vec![]);
        let mut sla = ConversationSla::new(ConversationId::new(), &p, None, Priority::Normal);
        sla.apply(SlaFact::CustomerMessage(at(0)));
        let first = Breach {
            target: SlaTarget::FirstResponse,
            due_at: at(60),
        };
        assert_eq!(sla.due_at, Some(at(60)));
        // A quarter of the hour left: 15 minutes before it is due.
        assert_eq!(sla.wake_at, Some(at(45)));
        assert!(sla.announce(at(30)).is_empty());
        let soon = sla.announce(at(46));
        assert_eq!(soon.due_soon, vec![first]);
        assert!(soon.breached.is_empty());
        assert!(sla.announce(at(47)).is_empty(), "told once");
        assert_eq!(sla.wake_at, Some(at(60)));
        let told = sla.announce(at(61));
        assert_eq!(told.breached, vec![first]);
        assert!(told.due_soon.is_empty());
        assert!(sla.announce(at(62)).is_empty());
        // Still owed, so still first on the list; the sweeper waits for the resolution's
        // warning, a quarter of eight hours before it is due.
        assert_eq!(sla.due_at, Some(at(60)));
        assert_eq!(sla.wake_at, Some(at(360)));
        sla.apply(SlaFact::AgentReply(at(90)));
        sla.apply(SlaFact::Status(
            crate::model::ConversationStatus::Resolved,
            at(100),
        ));
        assert_eq!((sla.due_at, sla.wake_at), (None, None));
    }

    #[test]
    fn a_target_found_breached_is_told_breached_only() {
        let p = policy("p", vec![], vec![]);
        let mut sla = ConversationSla::new(ConversationId::new(), &p, None, Priority::Normal);
        sla.apply(SlaFact::CustomerMessage(at(0)));
        let told = sla.announce(at(70));
        assert!(told.due_soon.is_empty(), "{told:?}");
        assert_eq!(told.breached.len(), 1);
        assert!(sla.announce(at(71)).is_empty());
    }

    #[test]
    fn a_change_is_taken_once_and_only_the_latest_are_remembered() {
        let p = policy("p", vec![], vec![]);
        let mut sla = ConversationSla::new(ConversationId::new(), &p, None, Priority::Normal);
        assert!(sla.take_change("a"));
        assert!(!sla.take_change("a"));
        for i in 0..REMEMBERED_CHANGES {
            assert!(sla.take_change(&i.to_string()));
        }
        assert_eq!(sla.seen.len(), REMEMBERED_CHANGES);
        assert!(sla.take_change("a"), "forgotten once 64 newer were taken");
    }

    #[test]
    fn raising_the_priority_measures_against_its_shorter_target() {
        let p = policy("p", vec![], vec![]);
        let mut sla = ConversationSla::new(ConversationId::new(), &p, None, Priority::Normal);
        sla.apply(SlaFact::CustomerMessage(at(0)));
        sla.retarget(&p.targets, Priority::High, at(5));
        assert_eq!(sla.due_at, Some(at(15)));
        // High sets no resolution target: only the first response is owed.
        assert_eq!(sla.clocks.owed(&sla.hours()).len(), 1);
    }

    #[test]
    fn a_policy_chosen_midway_keeps_what_was_spent_and_counts_in_its_own_calendar() {
        let p = policy("around the clock", vec![], vec![]);
        let mut sla = ConversationSla::new(ConversationId::new(), &p, None, Priority::Normal);
        sla.apply(SlaFact::CustomerMessage(at(0)));
        // A 30-minute first response from 10:00 UTC (09:00 to 10:00 already spent,
        // then closed after 10:10): the target is already used up.
        let mut strict = policy("strict", vec![], vec![]);
        strict.targets.normal.first_response_secs = Some(30 * 60);
        let calendar = Calendar {
            id: CalendarId::new(),
            name: "mornings".into(),
            hours: "mon-sun 00:00-10:10 UTC".into(),
            holidays: vec![],
        };
        sla.switch_policy(&strict, Some(calendar), at(60));
        assert_eq!(
            (sla.policy_id, sla.policy_name.as_str()),
            (strict.id, "strict")
        );
        assert_eq!(sla.targets.first_response_secs, Some(1800));
        assert_eq!(sla.due_at, Some(at(60)), "overdue from the switch");
        // A fresh conversation under it: 20 minutes of morning left at 09:50, then the
        // rest the next morning.
        let mut fresh = ConversationSla::new(
            ConversationId::new(),
            &strict,
            sla.calendar.clone(),
            Priority::Normal,
        );
        fresh.apply(SlaFact::CustomerMessage(at(50)));
        assert_eq!(fresh.due_at, Some(at(24 * 60 - 9 * 60 + 10)));
    }
}
