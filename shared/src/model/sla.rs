//! Service-level targets and their clocks, worked out from what happened in a
//! conversation. Pure: the same facts give the same answer on every backend, and the
//! three ways peers get it wrong are tests here.
//!
//! - **First response**: from the customer's first message to the first reply of an
//!   agent.
//! - **Next response**: from a customer's message that follows an agent's reply to the
//!   next reply. A short next-response target never stands in for the first response.
//! - **Resolution**: from the first message to the resolve; a reopen resumes it.
//!
//! Every clock pauses while the conversation waits on the customer (pending) or is
//! snoozed, and stops on resolve: nothing is overdue in a resolved conversation. Time is
//! counted in the policy's business hours, or around the clock.

use super::calendar::BusinessHours;
use super::conversation::ConversationStatus;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The targets one policy sets for a priority.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlaTargets {
    pub first_response: Option<Duration>,
    pub next_response: Option<Duration>,
    pub resolution: Option<Duration>,
}

/// One of the three targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaTarget {
    FirstResponse,
    NextResponse,
    Resolution,
}

impl SlaTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstResponse => "first_response",
            Self::NextResponse => "next_response",
            Self::Resolution => "resolution",
        }
    }
}

/// What happened, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlaFact {
    /// A message from the customer (the first opens the conversation).
    CustomerMessage(DateTime<Utc>),
    /// A reply from an agent that goes to the customer (a note is not one).
    AgentReply(DateTime<Utc>),
    /// The conversation's status became this.
    Status(ConversationStatus, DateTime<Utc>),
    /// The conversation was linked to an incident (true: its clocks hold while the
    /// incident lasts) or left it (false: they run again, unless its status holds them).
    Incident(bool, DateTime<Utc>),
}

impl SlaFact {
    fn at(&self) -> DateTime<Utc> {
        match *self {
            Self::CustomerMessage(at)
            | Self::AgentReply(at)
            | Self::Status(_, at)
            | Self::Incident(_, at) => at,
        }
    }
}

/// Where one target stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TargetState {
    /// The policy sets no such target, or its clock never started.
    None,
    /// Counting; due at this instant unless paused first.
    Running { due_at: DateTime<Utc> },
    /// Waiting on the customer or snoozed, with this much of its time left.
    Paused {
        #[serde(with = "millis")]
        left: Duration,
    },
    /// Done in time.
    Met { at: DateTime<Utc> },
    /// Its time ran out at `due_at` (and it was done later, or is still open).
    Breached { due_at: DateTime<Utc> },
    /// The conversation was resolved before it was done, in time: nothing is owed.
    Stopped { at: DateTime<Utc> },
}

/// How a target looks on an agent's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Ok,
    /// Running, with a quarter of its time or less left.
    DueSoon,
    Breached,
}

/// The three targets of one conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlaStatus {
    pub first_response: TargetState,
    pub next_response: TargetState,
    pub resolution: TargetState,
}

impl SlaStatus {
    /// The state of `target`.
    pub fn of(&self, target: SlaTarget) -> TargetState {
        match target {
            SlaTarget::FirstResponse => self.first_response,
            SlaTarget::NextResponse => self.next_response,
            SlaTarget::Resolution => self.resolution,
        }
    }

    /// The earliest instant a running target falls due.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        [self.first_response, self.next_response, self.resolution]
            .into_iter()
            .filter_map(|state| match state {
                TargetState::Running { due_at } => Some(due_at),
                _ => None,
            })
            .min()
    }

    /// The worst of the three, at `now`, against their targets.
    pub fn urgency(&self, targets: &SlaTargets, now: DateTime<Utc>) -> Urgency {
        let pairs = [
            (self.first_response, targets.first_response),
            (self.next_response, targets.next_response),
            (self.resolution, targets.resolution),
        ];
        let mut worst = Urgency::Ok;
        for (state, target) in pairs {
            match state {
                TargetState::Breached { .. } => return Urgency::Breached,
                TargetState::Running { due_at } if due_at <= now => return Urgency::Breached,
                // Wall-clock time left against a quarter of the target: a business
                // calendar's night makes this cautious, never late.
                TargetState::Running { due_at }
                    if target.is_some_and(|t| due_at - now <= t / 4) =>
                {
                    worst = Urgency::DueSoon;
                }
                TargetState::Paused { left } if target.is_some_and(|t| left <= t / 4) => {
                    worst = Urgency::DueSoon;
                }
                _ => {}
            }
        }
        worst
    }
}

/// One clock: how much of its target is spent, and since when it is counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Clock {
    #[serde(with = "millis")]
    target: Duration,
    #[serde(with = "millis")]
    spent: Duration,
    running_since: Option<DateTime<Utc>>,
    /// When it ran out, counted as it ran.
    breached: Option<DateTime<Utc>>,
}

impl Clock {
    fn start(target: Duration, at: DateTime<Utc>) -> Self {
        Self {
            target,
            spent: Duration::zero(),
            running_since: Some(at),
            breached: None,
        }
    }

    /// Counts up to `at`; notes the instant the target ran out.
    fn advance(&mut self, hours: &BusinessHours, at: DateTime<Utc>) {
        let Some(since) = self.running_since else {
            return;
        };
        if self.breached.is_none() {
            let left = self.target - self.spent;
            if let Some(due) = hours.after_open_time(since, left)
                && due <= at
            {
                self.breached = Some(due);
            }
        }
        self.spent += hours.open_time_between(since, at);
        self.running_since = Some(at);
    }

    fn pause(&mut self, hours: &BusinessHours, at: DateTime<Utc>) {
        self.advance(hours, at);
        self.running_since = None;
    }

    fn resume(&mut self, at: DateTime<Utc>) {
        if self.running_since.is_none() {
            self.running_since = Some(at);
        }
    }

    /// Done at `at`: in time, or late.
    fn finish(self, hours: &BusinessHours, at: DateTime<Utc>) -> Track {
        self.settle(hours, at, TargetState::Met { at })
    }

    /// Stopped by a resolve at `at`: owed nothing, unless its time ran out before.
    fn stop(self, hours: &BusinessHours, at: DateTime<Utc>) -> Track {
        self.settle(hours, at, TargetState::Stopped { at })
    }

    fn settle(mut self, hours: &BusinessHours, at: DateTime<Utc>, in_time: TargetState) -> Track {
        self.pause(hours, at);
        let state = match self.breached {
            Some(due_at) => TargetState::Breached { due_at },
            None => in_time,
        };
        Track::Settled { state, clock: self }
    }

    /// Where it stands at `now`.
    fn state(mut self, hours: &BusinessHours, now: DateTime<Utc>) -> TargetState {
        self.advance(hours, now);
        if let Some(due_at) = self.breached {
            return TargetState::Breached { due_at };
        }
        let left = self.target - self.spent;
        match self.running_since {
            Some(since) => match hours.after_open_time(since, left) {
                Some(due_at) => TargetState::Running { due_at },
                // A calendar with no open time ahead: the clock cannot run out.
                None => TargetState::Paused { left },
            },
            None => TargetState::Paused { left },
        }
    }
}

/// A target's clock through the conversation: not started, counting, or settled (with
/// the clock it settled on, which a reopen resumes for the resolution).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "track", rename_all = "snake_case")]
enum Track {
    #[default]
    Idle,
    Counting(Clock),
    Settled {
        state: TargetState,
        clock: Clock,
    },
}

impl Track {
    fn state(self, hours: &BusinessHours, now: DateTime<Utc>) -> TargetState {
        match self {
            Self::Idle => TargetState::None,
            Self::Counting(clock) => clock.state(hours, now),
            Self::Settled { state, .. } => state,
        }
    }

    fn each_counting(&mut self, f: impl FnOnce(&mut Clock)) {
        if let Self::Counting(clock) = self {
            f(clock);
        }
    }
}

/// The three clocks of one conversation, as the facts so far have left them: kept
/// with the conversation and moved on by each new fact, so nothing needs the whole
/// history again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaClocks {
    first: Track,
    next: Track,
    resolution: Track,
    opened: bool,
    replied: bool,
    paused: bool,
    /// Held by an incident the conversation is linked to.
    #[serde(default)]
    held: bool,
}

impl SlaClocks {
    /// Moves the clocks on by `fact`, which happened after every fact applied before.
    pub fn apply(&mut self, targets: &SlaTargets, hours: &BusinessHours, fact: SlaFact) {
        let at = fact.at();
        match fact {
            SlaFact::CustomerMessage(_) => {
                if !self.opened {
                    self.opened = true;
                    if let Some(t) = targets.first_response {
                        self.first = Track::Counting(Clock::start(t, at));
                    }
                    if let Some(t) = targets.resolution {
                        self.resolution = Track::Counting(Clock::start(t, at));
                    }
                } else if self.replied && matches!(self.next, Track::Idle | Track::Settled { .. }) {
                    // Waiting on us again: the next response is owed.
                    if let Some(t) = targets.next_response {
                        self.next = Track::Counting(Clock::start(t, at));
                    }
                }
                if self.paused || self.held {
                    // A customer's message is not a status change; the status says
                    // whether the clocks run, and the router reopens what it must.
                    for track in self.tracks() {
                        track.each_counting(|c| c.pause(hours, at));
                    }
                }
            }
            SlaFact::AgentReply(_) => {
                self.replied = true;
                if let Track::Counting(clock) = self.first {
                    self.first = clock.finish(hours, at);
                }
                if let Track::Counting(clock) = self.next {
                    self.next = clock.finish(hours, at);
                }
            }
            SlaFact::Status(status, _) => match status {
                ConversationStatus::Open => {
                    self.paused = false;
                    if let Track::Settled { clock, .. } = self.resolution {
                        // A reopen resumes the resolution clock where it stopped (one
                        // already run out stays so).
                        self.resolution = Track::Counting(clock);
                        if self.held {
                            self.resolution.each_counting(|c| c.running_since = None);
                        }
                    }
                    if !self.held {
                        for track in self.tracks() {
                            track.each_counting(|c| c.resume(at));
                        }
                    }
                }
                ConversationStatus::Pending | ConversationStatus::Snoozed => {
                    self.paused = true;
                    for track in self.tracks() {
                        track.each_counting(|c| c.pause(hours, at));
                    }
                }
                ConversationStatus::Resolved => {
                    self.paused = true;
                    // Resolving ends the conversation's part in an incident: if the
                    // customer writes again, their clocks run.
                    self.held = false;
                    if let Track::Counting(clock) = self.first {
                        self.first = clock.stop(hours, at);
                    }
                    if let Track::Counting(clock) = self.next {
                        self.next = clock.stop(hours, at);
                    }
                    if let Track::Counting(clock) = self.resolution {
                        self.resolution = clock.finish(hours, at);
                    }
                }
            },
            SlaFact::Incident(held, _) => {
                self.held = held;
                let paused = self.paused;
                for track in self.tracks() {
                    if held {
                        track.each_counting(|c| c.pause(hours, at));
                    } else if !paused {
                        track.each_counting(|c| c.resume(at));
                    }
                }
            }
        }
    }

    /// Gives the clocks new targets at `at` (the conversation's priority changed): what
    /// each has spent stays spent, against its new target, so a shorter target already
    /// used up is overdue from `at`. A target the new set drops stops counting; one it
    /// adds starts with the next fact that starts it.
    pub fn retarget(&mut self, targets: &SlaTargets, hours: &BusinessHours, at: DateTime<Utc>) {
        let pairs = [
            (&mut self.first, targets.first_response),
            (&mut self.next, targets.next_response),
            (&mut self.resolution, targets.resolution),
        ];
        for (track, target) in pairs {
            let Track::Counting(clock) = track else {
                continue;
            };
            let Some(target) = target else {
                *track = Track::Idle;
                continue;
            };
            if clock.running_since.is_some() {
                clock.advance(hours, at);
            }
            clock.target = target;
            clock.breached = match clock.breached {
                _ if clock.spent < target => None,
                Some(due) => Some(due),
                None => Some(at),
            };
        }
    }

    /// Where the targets stand at `now`.
    pub fn status(&self, hours: &BusinessHours, now: DateTime<Utc>) -> SlaStatus {
        SlaStatus {
            first_response: self.first.state(hours, now),
            next_response: self.next.state(hours, now),
            resolution: self.resolution.state(hours, now),
        }
    }

    /// The targets whose clocks are counting now, each with when it falls (or fell) due:
    /// what is owed to the customer. A paused clock owes nothing until it runs again.
    pub fn owed(&self, hours: &BusinessHours) -> Vec<(SlaTarget, DateTime<Utc>)> {
        let tracks = [
            (SlaTarget::FirstResponse, self.first),
            (SlaTarget::NextResponse, self.next),
            (SlaTarget::Resolution, self.resolution),
        ];
        tracks
            .into_iter()
            .filter_map(|(target, track)| match track {
                Track::Counting(clock) => {
                    let since = clock.running_since?;
                    let due = clock
                        .breached
                        .or_else(|| hours.after_open_time(since, clock.target - clock.spent))?;
                    Some((target, due))
                }
                _ => None,
            })
            .collect()
    }

    fn tracks(&mut self) -> [&mut Track; 3] {
        [&mut self.first, &mut self.next, &mut self.resolution]
    }
}

/// The targets' states at `now`, from `facts` in the order they happened.
pub fn evaluate(
    targets: &SlaTargets,
    hours: &BusinessHours,
    facts: &[SlaFact],
    now: DateTime<Utc>,
) -> SlaStatus {
    let mut clocks = SlaClocks::default();
    for fact in facts.iter().filter(|f| f.at() <= now) {
        clocks.apply(targets, hours, *fact);
    }
    clocks.status(hours, now)
}

/// A duration as whole milliseconds, the way stored clocks keep it.
mod millis {
    use chrono::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.num_milliseconds())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        i64::deserialize(d).map(Duration::milliseconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConversationStatus::{Open, Pending, Resolved, Snoozed};
    use SlaFact::{AgentReply, CustomerMessage, Status};
    use chrono::TimeZone;

    /// Minutes after 2026-11-23 09:00 UTC (a Monday).
    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn targets(first: i64, next: i64, resolution: i64) -> SlaTargets {
        SlaTargets {
            first_response: Some(Duration::minutes(first)),
            next_response: Some(Duration::minutes(next)),
            resolution: Some(Duration::minutes(resolution)),
        }
    }

    fn always() -> BusinessHours {
        BusinessHours::always()
    }

    #[test]
    fn the_first_reply_meets_the_first_response_in_time_or_late() {
        let t = targets(60, 30, 480);
        let in_time = evaluate(
            &t,
            &always(),
            &[CustomerMessage(at(0)), AgentReply(at(45))],
            at(50),
        );
        assert_eq!(in_time.first_response, TargetState::Met { at: at(45) });
        let late = evaluate(
            &t,
            &always(),
            &[CustomerMessage(at(0)), AgentReply(at(75))],
            at(80),
        );
        assert_eq!(
            late.first_response,
            TargetState::Breached { due_at: at(60) }
        );
        let waiting = evaluate(&t, &always(), &[CustomerMessage(at(0))], at(20));
        assert_eq!(
            waiting.first_response,
            TargetState::Running { due_at: at(60) }
        );
        assert_eq!(waiting.resolution, TargetState::Running { due_at: at(480) });
        assert_eq!(waiting.next_response, TargetState::None);
        assert_eq!(waiting.next_due(), Some(at(60)));
        assert_eq!(waiting.urgency(&t, at(20)), Urgency::Ok);
        assert_eq!(waiting.urgency(&t, at(50)), Urgency::DueSoon);
        assert_eq!(waiting.urgency(&t, at(61)), Urgency::Breached);
    }

    /// An outage: while the conversation is linked to an incident its clocks hold, so
    /// the breach list shows the real backlog; leaving the incident lets them run on.
    #[test]
    fn an_incident_holds_the_clocks_until_the_conversation_leaves_it() {
        use SlaFact::Incident;
        let t = targets(60, 30, 480);
        let facts = [
            CustomerMessage(at(0)),
            Incident(true, at(10)),
            CustomerMessage(at(20)),
            Incident(false, at(70)),
        ];
        let held = evaluate(&t, &always(), &facts[..3], at(65));
        assert_eq!(
            held.first_response,
            TargetState::Paused {
                left: Duration::minutes(50)
            }
        );
        let after = evaluate(&t, &always(), &facts, at(100));
        assert_eq!(
            after.first_response,
            TargetState::Running { due_at: at(120) }
        );
        // Resolved while held, and reopened: the hold ended with the resolve.
        let reopened = evaluate(
            &t,
            &always(),
            &[
                CustomerMessage(at(0)),
                Incident(true, at(10)),
                Status(Resolved, at(20)),
                Status(Open, at(30)),
            ],
            at(200),
        );
        assert!(
            matches!(reopened.resolution, TargetState::Running { .. }),
            "{reopened:?}"
        );
        // Pending and then released: the status still holds them.
        let pending = evaluate(
            &t,
            &always(),
            &[
                CustomerMessage(at(0)),
                Incident(true, at(10)),
                Status(Pending, at(20)),
                Incident(false, at(30)),
            ],
            at(200),
        );
        assert!(
            matches!(pending.first_response, TargetState::Paused { .. }),
            "{pending:?}"
        );
    }

    /// chatwoot#10178: the next-response timer kept running after the conversation was
    /// resolved, and it showed as breached.
    #[test]
    fn resolve_stops_the_next_response_clock() {
        let t = targets(60, 30, 480);
        let facts = [
            CustomerMessage(at(0)),
            AgentReply(at(10)),
            CustomerMessage(at(20)),
            Status(Resolved, at(25)),
        ];
        let later = evaluate(&t, &always(), &facts, at(600));
        assert_eq!(later.next_response, TargetState::Stopped { at: at(25) });
        assert_eq!(later.resolution, TargetState::Met { at: at(25) });
        assert_eq!(later.next_due(), None);
        assert_eq!(later.urgency(&t, at(600)), Urgency::Ok);
    }

    /// zammad#3140: the update-time target escalated a conversation the agent had
    /// already answered.
    #[test]
    fn an_agents_reply_ends_the_next_response_clock() {
        let t = targets(60, 30, 10_000);
        let facts = [
            CustomerMessage(at(0)),
            AgentReply(at(5)),
            CustomerMessage(at(100)),
            AgentReply(at(110)),
        ];
        let later = evaluate(&t, &always(), &facts, at(400));
        assert_eq!(later.next_response, TargetState::Met { at: at(110) });
        assert_eq!(later.urgency(&t, at(400)), Urgency::Ok);
        // The customer writes again: a new next response is owed from then.
        let mut more = facts.to_vec();
        more.push(CustomerMessage(at(420)));
        let owed = evaluate(&t, &always(), &more, at(430));
        assert_eq!(owed.next_response, TargetState::Running { due_at: at(450) });
    }

    /// zammad#5177: a short update time overrode the first response target.
    #[test]
    fn a_short_next_response_target_never_stands_in_for_the_first_response() {
        let t = targets(120, 10, 10_000);
        let facts = [
            CustomerMessage(at(0)),
            CustomerMessage(at(5)),
            CustomerMessage(at(30)),
        ];
        let status = evaluate(&t, &always(), &facts, at(60));
        assert_eq!(
            status.first_response,
            TargetState::Running { due_at: at(120) }
        );
        assert_eq!(status.next_response, TargetState::None);
        assert_eq!(status.urgency(&t, at(60)), Urgency::Ok);
    }

    #[test]
    fn pending_and_snoozed_pause_every_clock() {
        let t = targets(60, 30, 240);
        let facts = [
            CustomerMessage(at(0)),
            Status(Pending, at(30)),
            Status(Open, at(120)),
        ];
        // 30 minutes spent before the pause, 30 left from 11:00.
        let status = evaluate(&t, &always(), &facts, at(130));
        assert_eq!(
            status.first_response,
            TargetState::Running { due_at: at(150) }
        );
        assert_eq!(status.resolution, TargetState::Running { due_at: at(330) });
        let paused = evaluate(&t, &always(), &facts[..2], at(500));
        assert_eq!(
            paused.first_response,
            TargetState::Paused {
                left: Duration::minutes(30)
            }
        );
        assert_eq!(paused.next_due(), None);
        let snoozed = [CustomerMessage(at(0)), Status(Snoozed, at(50))];
        let status = evaluate(&t, &always(), &snoozed, at(500));
        assert_eq!(
            status.first_response,
            TargetState::Paused {
                left: Duration::minutes(10)
            }
        );
        assert_eq!(status.urgency(&t, at(500)), Urgency::DueSoon);
    }

    #[test]
    fn a_reopen_resumes_the_resolution_clock_where_it_stopped() {
        let t = targets(60, 30, 240);
        let facts = [
            CustomerMessage(at(0)),
            AgentReply(at(10)),
            Status(Resolved, at(60)),
            Status(Open, at(180)),
        ];
        // An hour spent before the resolve: three left from the reopen.
        let status = evaluate(&t, &always(), &facts, at(200));
        assert_eq!(status.resolution, TargetState::Running { due_at: at(360) });
        assert_eq!(status.first_response, TargetState::Met { at: at(10) });
    }

    #[test]
    fn business_hours_count_only_open_time() {
        // Tehran, Saturday to Wednesday, 08:30-17:00 (+03:30).
        let tehran = BusinessHours::parse("sat-wed 08:30-17:00 +03:30").unwrap();
        let t = SlaTargets {
            first_response: Some(Duration::hours(1)),
            ..SlaTargets::default()
        };
        // Wednesday 2026-11-25 16:30 in Tehran (13:00 UTC): half an hour that day, the
        // rest on Saturday from 08:30, due at 09:00 Tehran (05:30 UTC).
        let wednesday = Utc.with_ymd_and_hms(2026, 11, 25, 13, 0, 0).unwrap();
        let status = evaluate(&t, &tehran, &[CustomerMessage(wednesday)], wednesday);
        let saturday = Utc.with_ymd_and_hms(2026, 11, 28, 5, 30, 0).unwrap();
        assert_eq!(
            status.first_response,
            TargetState::Running { due_at: saturday }
        );
        // Replied on Saturday at 08:45 Tehran: in time, though two days later.
        let reply = Utc.with_ymd_and_hms(2026, 11, 28, 5, 15, 0).unwrap();
        let met = evaluate(
            &t,
            &tehran,
            &[CustomerMessage(wednesday), AgentReply(reply)],
            reply,
        );
        assert_eq!(met.first_response, TargetState::Met { at: reply });
    }

    #[test]
    fn facts_after_now_are_not_seen() {
        let t = targets(60, 30, 240);
        let facts = [CustomerMessage(at(0)), AgentReply(at(90))];
        let status = evaluate(&t, &always(), &facts, at(30));
        assert_eq!(
            status.first_response,
            TargetState::Running { due_at: at(60) }
        );
    }
    #[test]
    fn clocks_kept_between_facts_give_what_the_whole_history_gives() {
        let t = targets(60, 30, 480);
        let facts = [
            CustomerMessage(at(0)),
            Status(Pending, at(10)),
            CustomerMessage(at(40)),
            Status(Open, at(40)),
            AgentReply(at(70)),
            CustomerMessage(at(90)),
        ];
        let mut clocks = SlaClocks::default();
        for fact in facts {
            // Stored and read back between facts, as a store keeps them.
            let json = serde_json::to_string(&clocks).unwrap();
            clocks = serde_json::from_str(&json).unwrap();
            clocks.apply(&t, &always(), fact);
        }
        assert_eq!(
            clocks.status(&always(), at(100)),
            evaluate(&t, &always(), &facts, at(100))
        );
    }

    #[test]
    fn a_new_priority_counts_what_was_spent_against_its_own_targets() {
        let normal = targets(60, 30, 480);
        let urgent = targets(15, 10, 120);
        let mut clocks = SlaClocks::default();
        clocks.apply(&normal, &always(), CustomerMessage(at(0)));
        // Twenty minutes in, the conversation turns urgent: fifteen were allowed.
        clocks.retarget(&urgent, &always(), at(20));
        let status = clocks.status(&always(), at(21));
        assert_eq!(
            status.first_response,
            TargetState::Breached { due_at: at(20) }
        );
        assert_eq!(status.resolution, TargetState::Running { due_at: at(120) });
        // Back to normal: the hour is not yet spent, so nothing is overdue.
        clocks.retarget(&normal, &always(), at(25));
        let status = clocks.status(&always(), at(26));
        assert_eq!(
            status.first_response,
            TargetState::Running { due_at: at(60) }
        );
        // A policy with no resolution target stops that clock.
        let first_only = SlaTargets {
            first_response: Some(Duration::minutes(60)),
            ..SlaTargets::default()
        };
        clocks.retarget(&first_only, &always(), at(30));
        assert_eq!(
            clocks.status(&always(), at(31)).resolution,
            TargetState::None
        );
    }

    #[test]
    fn what_is_owed_is_each_counting_clock_with_its_due_time_and_nothing_paused() {
        let t = targets(60, 30, 480);
        let mut clocks = SlaClocks::default();
        clocks.apply(&t, &always(), CustomerMessage(at(0)));
        assert_eq!(
            clocks.owed(&always()),
            vec![
                (SlaTarget::FirstResponse, at(60)),
                (SlaTarget::Resolution, at(480))
            ]
        );
        // Overdue stays owed, at the time it fell due.
        clocks.apply(&t, &always(), Status(Open, at(90)));
        assert_eq!(
            clocks.owed(&always())[0],
            (SlaTarget::FirstResponse, at(60))
        );
        clocks.apply(&t, &always(), Status(Pending, at(100)));
        assert_eq!(clocks.owed(&always()), vec![]);
        clocks.apply(&t, &always(), Status(Open, at(200)));
        clocks.apply(&t, &always(), AgentReply(at(210)));
        // 100 minutes of the resolution's 480 were spent before the pause.
        assert_eq!(
            clocks.owed(&always()),
            vec![(SlaTarget::Resolution, at(200 + 380))]
        );
    }
}
