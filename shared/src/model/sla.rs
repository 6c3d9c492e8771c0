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

/// The targets one policy sets for a priority.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlaTargets {
    pub first_response: Option<Duration>,
    pub next_response: Option<Duration>,
    pub resolution: Option<Duration>,
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
}

impl SlaFact {
    fn at(&self) -> DateTime<Utc> {
        match *self {
            Self::CustomerMessage(at) | Self::AgentReply(at) | Self::Status(_, at) => at,
        }
    }
}

/// Where one target stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetState {
    /// The policy sets no such target, or its clock never started.
    None,
    /// Counting; due at this instant unless paused first.
    Running { due_at: DateTime<Utc> },
    /// Waiting on the customer or snoozed, with this much of its time left.
    Paused { left: Duration },
    /// Done in time.
    Met { at: DateTime<Utc> },
    /// Its time ran out at `due_at` (and it was done later, or is still open).
    Breached { due_at: DateTime<Utc> },
    /// The conversation was resolved before it was done, in time: nothing is owed.
    Stopped { at: DateTime<Utc> },
}

/// How a target looks on an agent's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
#[derive(Clone, Copy, Debug)]
struct Clock {
    target: Duration,
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
        Track::Settled(state, self)
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
#[derive(Clone, Copy, Debug)]
enum Track {
    Idle,
    Counting(Clock),
    Settled(TargetState, Clock),
}

impl Track {
    fn state(self, hours: &BusinessHours, now: DateTime<Utc>) -> TargetState {
        match self {
            Self::Idle => TargetState::None,
            Self::Counting(clock) => clock.state(hours, now),
            Self::Settled(state, _) => state,
        }
    }

    fn each_counting(&mut self, f: impl FnOnce(&mut Clock)) {
        if let Self::Counting(clock) = self {
            f(clock);
        }
    }
}

/// The targets' states at `now`, from `facts` in the order they happened.
pub fn evaluate(
    targets: &SlaTargets,
    hours: &BusinessHours,
    facts: &[SlaFact],
    now: DateTime<Utc>,
) -> SlaStatus {
    let mut first = Track::Idle;
    let mut next = Track::Idle;
    let mut resolution = Track::Idle;
    let mut opened = false;
    let mut replied = false;
    let mut paused = false;
    for fact in facts.iter().filter(|f| f.at() <= now) {
        let at = fact.at();
        match *fact {
            SlaFact::CustomerMessage(_) => {
                if !opened {
                    opened = true;
                    if let Some(t) = targets.first_response {
                        first = Track::Counting(Clock::start(t, at));
                    }
                    if let Some(t) = targets.resolution {
                        resolution = Track::Counting(Clock::start(t, at));
                    }
                } else if replied && matches!(next, Track::Idle | Track::Settled(..)) {
                    // Waiting on us again: the next response is owed.
                    if let Some(t) = targets.next_response {
                        next = Track::Counting(Clock::start(t, at));
                    }
                }
                if paused {
                    // A customer's message is not a status change; the status says
                    // whether the clocks run, and the router reopens what it must.
                    for track in [&mut first, &mut next, &mut resolution] {
                        track.each_counting(|c| c.pause(hours, at));
                    }
                }
            }
            SlaFact::AgentReply(_) => {
                replied = true;
                if let Track::Counting(clock) = first {
                    first = clock.finish(hours, at);
                }
                if let Track::Counting(clock) = next {
                    next = clock.finish(hours, at);
                }
            }
            SlaFact::Status(status, _) => match status {
                ConversationStatus::Open => {
                    paused = false;
                    if let Track::Settled(_, clock) = resolution {
                        // A reopen resumes the resolution clock where it stopped (one
                        // already run out stays so).
                        resolution = Track::Counting(clock);
                    }
                    for track in [&mut first, &mut next, &mut resolution] {
                        track.each_counting(|c| c.resume(at));
                    }
                }
                ConversationStatus::Pending | ConversationStatus::Snoozed => {
                    paused = true;
                    for track in [&mut first, &mut next, &mut resolution] {
                        track.each_counting(|c| c.pause(hours, at));
                    }
                }
                ConversationStatus::Resolved => {
                    paused = true;
                    if let Track::Counting(clock) = first {
                        first = clock.stop(hours, at);
                    }
                    if let Track::Counting(clock) = next {
                        next = clock.stop(hours, at);
                    }
                    if let Track::Counting(clock) = resolution {
                        resolution = clock.finish(hours, at);
                    }
                }
            },
        }
    }
    SlaStatus {
        first_response: first.state(hours, now),
        next_response: next.state(hours, now),
        resolution: resolution.state(hours, now),
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
}
