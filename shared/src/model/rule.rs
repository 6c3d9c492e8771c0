//! Routing rules: when something happens to a conversation (a customer's message, a
//! service-level breach, an agent's change, a reopen), the rules run in order; each whose conditions hold applies its
//! actions, and one that says `stop_processing` ends the run. Every rule applied leaves a
//! `rule_applied` event before the changes it made, so an agent sees why a conversation
//! went where it did. Pure: the router, the sweeper and the dry run all call [`run`].
//!
//! A rule's own actions never trigger it again: a run is started only by what a
//! customer, an agent or the clock did, never by what a rule changed.

use super::calendar::BusinessHours;
use super::conversation::{ConversationStatus, Priority, normalize_tag};
use super::identity::ascii_digits;
use super::{
    AgentId, Calendar, CalendarId, CannedReplyId, Channel, Conversation, Event, EventKind, RuleId,
    SlaPolicyId, TeamId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What starts a run of the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A customer's message was routed (into a new conversation or an existing one).
    MessageReceived,
    /// A service-level target ran out with the customer still owed it.
    SlaBreached,
    /// A service-level target has a quarter of its time or less left.
    SlaDueSoon,
    /// An agent changed the conversation: its status, priority, team, tags, assignee
    /// or snooze. What a rule changes never triggers this.
    ConversationUpdated,
    /// The conversation opened again: the customer wrote after it was resolved, its
    /// snooze ended, or an agent reopened it.
    Reopened,
    /// The agent it is assigned to went offline (each of their unresolved
    /// conversations, once).
    AssigneeOffline,
    /// An unresolved conversation had no change for the rule's `idle_minutes`: once per
    /// quiet spell (any change, a rule's included, starts the count again).
    Idle,
}

/// One test of a conversation and what just happened to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "if", rename_all = "snake_case")]
pub enum Condition {
    /// The message came on one of these channels.
    Channel {
        any_of: Vec<Channel>,
    },
    /// The message's text holds one of these words (compared with Arabic and Persian
    /// letter variants, digits and case made alike).
    TextContains {
        any_of: Vec<String>,
    },
    /// The subject holds one of these words, compared the same way.
    SubjectContains {
        any_of: Vec<String>,
    },
    /// The message started a new conversation (or did not).
    NewConversation {
        is: bool,
    },
    /// The message is written in one of these languages (ISO 639-1: `fa`, `en`), told
    /// apart from the others the rules name and from English, Persian, Arabic, Russian,
    /// Turkish, French, German and Spanish.
    Language {
        any_of: Vec<String>,
    },
    /// The sender wrote from an email address at one of these domains.
    SenderDomain {
        any_of: Vec<String>,
    },
    Priority {
        any_of: Vec<Priority>,
    },
    Status {
        any_of: Vec<ConversationStatus>,
    },
    /// The conversation carries one of these tags.
    Tagged {
        any_of: Vec<String>,
    },
    /// The conversation's team is one of these; `null` in the list: no team.
    Team {
        any_of: Vec<Option<TeamId>>,
    },
    /// The calendar is open now (or closed, with `is: false`).
    WithinHours {
        calendar_id: CalendarId,
        is: bool,
    },
    /// The customer wrote last and waits for an answer (or not).
    Waiting {
        is: bool,
    },
    /// The customer (the conversation's contact) carries one of these tags.
    ContactTagged {
        any_of: Vec<String>,
    },
    /// The customer is a VIP (or not).
    Vip {
        is: bool,
    },
    /// The conversation holds at least (and at most) this many messages.
    MessageCount {
        #[schema(maximum = 1000000)]
        at_least: Option<u32>,
        #[schema(maximum = 1000000)]
        at_most: Option<u32>,
    },
    /// Any of these holds (none of them an `any` itself).
    Any {
        #[schema(no_recursion)]
        of: Vec<Condition>,
    },
}

/// What a rule does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Action {
    /// The conversation goes to this team; unassigned, it is given to one of its
    /// available agents in turn.
    SetTeam {
        team_id: TeamId,
    },
    SetPriority {
        priority: Priority,
    },
    AddTags {
        tags: Vec<String>,
    },
    /// The conversation goes to this agent.
    Assign {
        agent_id: AgentId,
    },
    /// The conversation goes back to its team's queue, nobody's.
    Unassign,
    /// An automatic answer: this canned reply goes to the customer on the channel they
    /// wrote on (`message_received` rules only).
    SendCanned {
        canned_reply_id: CannedReplyId,
    },
    /// The conversation needs an agent with this skill: it is tagged `skill:<name>`, and
    /// given (now or later) only to agents who have it.
    RequireSkill {
        skill: String,
    },
    /// The conversation is resolved.
    Resolve,
    /// The conversation is snoozed for this many hours (it reopens then, or when the
    /// customer writes).
    Snooze {
        #[schema(minimum = 1, maximum = 8760)]
        hours: u32,
    },
    /// A note for the agents on the conversation's timeline (never sent to the customer).
    AddNote {
        #[schema(max_length = 2000)]
        text: String,
    },
    /// These agents are told of the conversation on Telegram and by email, as they
    /// linked and chose, whatever they chose for other notices.
    NotifyAgents {
        agent_ids: Vec<AgentId>,
    },
    /// The conversation is measured against this SLA policy from now on, in place of the
    /// one that covers it by team and channel.
    ApplySlaPolicy {
        sla_policy_id: SlaPolicyId,
    },
}

/// The languages a `language` condition tells the languages it names apart from.
const CONTRAST_LANGUAGES: [&str; 8] = ["en", "fa", "ar", "ru", "tr", "fr", "de", "es"];

/// The longest snooze a rule sets: a year.
pub const MAX_SNOOZE_HOURS: u32 = 8760;
/// The longest note a rule leaves, in characters.
pub const MAX_RULE_NOTE: usize = 2000;
/// Most agents one rule notifies.
pub const MAX_NOTIFIED: usize = 20;

/// A rule as an admin writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rule {
    pub id: RuleId,
    pub name: String,
    pub enabled: bool,
    /// Rules run lowest first; equals in the order they were made.
    pub position: i32,
    pub trigger: Trigger,
    /// All must hold (none: always); an `any` condition holds when one of its own does.
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
    /// When it applies, no later rule runs for this trigger.
    pub stop_processing: bool,
    /// For `idle`: how long the conversation has had no change (1 minute to a year).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 525600)]
    pub idle_minutes: Option<u32>,
}

/// Most conditions (counting those inside `any`) and most actions in one rule.
pub const MAX_CONDITIONS: usize = 20;
pub const MAX_ACTIONS: usize = 10;
/// The longest quiet spell an `idle` rule waits for: a year.
pub const MAX_IDLE_MINUTES: u32 = 525_600;
/// The largest message count a condition names.
pub const MAX_MESSAGE_COUNT: u32 = 1_000_000;
/// Most words one condition lists.
pub const MAX_WORDS: usize = 50;

impl Rule {
    /// What is wrong with it, if anything (references to teams, agents and calendars
    /// are checked where they are kept).
    pub fn problem(&self) -> Option<String> {
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Some("a rule's name is 1 to 100 characters".into());
        }
        if self.actions.is_empty() || self.actions.len() > MAX_ACTIONS {
            return Some(format!("a rule has 1 to {MAX_ACTIONS} actions"));
        }
        match (self.trigger, self.idle_minutes) {
            (Trigger::Idle, Some(m)) if (1..=MAX_IDLE_MINUTES).contains(&m) => {}
            (Trigger::Idle, _) => {
                return Some(format!(
                    "an `idle` rule sets `idle_minutes`, 1 to {MAX_IDLE_MINUTES}"
                ));
            }
            (_, Some(_)) => return Some("only an `idle` rule sets `idle_minutes`".into()),
            (_, None) => {}
        }
        let mut count = 0;
        for condition in &self.conditions {
            count += 1;
            if let Condition::Any { of } = condition {
                count += of.len();
                if of.is_empty() {
                    return Some("an `any` condition lists at least one condition".into());
                }
                if of.iter().any(|c| matches!(c, Condition::Any { .. })) {
                    return Some("an `any` condition nests no other `any`".into());
                }
            }
        }
        if count > MAX_CONDITIONS {
            return Some(format!("a rule has at most {MAX_CONDITIONS} conditions"));
        }
        let words_ok = |words: &[String]| {
            !words.is_empty()
                && words.len() <= MAX_WORDS
                && words
                    .iter()
                    .all(|w| !normalize_text(w).trim().is_empty() && w.chars().count() <= 100)
        };
        let all = self.conditions.iter().flat_map(|c| match c {
            Condition::Any { of } => of.iter().collect::<Vec<_>>(),
            other => vec![other],
        });
        for condition in all {
            let bad = match condition {
                Condition::TextContains { any_of } | Condition::SubjectContains { any_of } => {
                    (!words_ok(any_of)).then_some("a word list has 1 to 50 words, none blank")
                }
                Condition::Tagged { any_of } | Condition::ContactTagged { any_of } => {
                    (any_of.is_empty() || any_of.iter().any(|t| normalize_tag(t).is_none()))
                        .then_some("tags are letters, digits, `-`, `_` and `:`, up to 50")
                }
                Condition::SenderDomain { any_of } => (any_of.is_empty()
                    || any_of.iter().any(|d| !d.contains('.') || d.contains('@')))
                .then_some("a domain is like `example.com`"),
                Condition::MessageCount { at_least, at_most } => (at_least.is_none()
                    && at_most.is_none()
                    || at_least.zip(*at_most).is_some_and(|(l, m)| l > m)
                    || [at_least, at_most]
                        .into_iter()
                        .flatten()
                        .any(|n| *n > MAX_MESSAGE_COUNT))
                .then_some(
                    "a message count sets `at_least`, `at_most` or both, in order, up to 1,000,000",
                ),
                Condition::Channel { any_of } => any_of.is_empty().then_some("list a channel"),
                Condition::Language { any_of } => (any_of.is_empty()
                    || any_of.iter().any(|l| !super::is_known_language(l)))
                .then_some("languages are ISO 639-1 codes Switchboard knows, like `fa` or `en`"),
                Condition::Priority { any_of } => any_of.is_empty().then_some("list a priority"),
                Condition::Status { any_of } => any_of.is_empty().then_some("list a status"),
                Condition::Team { any_of } => any_of.is_empty().then_some("list a team"),
                _ => None,
            };
            if let Some(bad) = bad {
                return Some(bad.into());
            }
        }
        let answers = self
            .actions
            .iter()
            .filter(|a| matches!(a, Action::SendCanned { .. }))
            .count();
        if answers > 1 || (answers == 1 && self.trigger != Trigger::MessageReceived) {
            return Some(
                "a rule sends at most one canned reply, and only on `message_received`".into(),
            );
        }
        for action in &self.actions {
            if let Action::RequireSkill { skill } = action
                && normalize_tag(&format!("{}{skill}", super::SKILL_TAG)).is_none()
            {
                return Some("a skill is letters, digits, `-` and `_`, up to 44".into());
            }
            if let Action::Snooze { hours } = action
                && !(1..=MAX_SNOOZE_HOURS).contains(hours)
            {
                return Some(format!("a rule snoozes for 1 to {MAX_SNOOZE_HOURS} hours"));
            }
            if let Action::AddNote { text } = action
                && (text.trim().is_empty() || text.chars().count() > MAX_RULE_NOTE)
            {
                return Some(format!("a rule's note is 1 to {MAX_RULE_NOTE} characters"));
            }
            if let Action::NotifyAgents { agent_ids } = action
                && (agent_ids.is_empty() || agent_ids.len() > MAX_NOTIFIED)
            {
                return Some(format!("a rule notifies 1 to {MAX_NOTIFIED} agents"));
            }
            if let Action::AddTags { tags } = action
                && (tags.is_empty()
                    || tags.len() > 20
                    || tags.iter().any(|t| normalize_tag(t).is_none()))
            {
                return Some(
                    "a rule adds 1 to 20 tags of letters, digits, `-`, `_` and `:`".into(),
                );
            }
        }
        None
    }

    pub fn calendars(&self) -> Vec<CalendarId> {
        let mut ids = Vec::new();
        for c in &self.conditions {
            match c {
                Condition::WithinHours { calendar_id, .. } => ids.push(*calendar_id),
                Condition::Any { of } => ids.extend(of.iter().filter_map(|c| match c {
                    Condition::WithinHours { calendar_id, .. } => Some(*calendar_id),
                    _ => None,
                })),
                _ => {}
            }
        }
        ids
    }
}

/// Text made comparable: Arabic letter variants written the Persian way (ي ى → ی,
/// ك → ک, ة ۀ → ه, أ إ ٱ آ → ا), Persian and Arabic digits as ASCII, no diacritics,
/// tatweel or zero-width joiners, lower case.
pub fn normalize_text(text: &str) -> String {
    ascii_digits(text)
        .chars()
        .filter_map(|c| match c {
            'ي' | 'ى' => Some('ی'),
            'ك' => Some('ک'),
            'ة' | 'ۀ' => Some('ه'),
            'أ' | 'إ' | 'ٱ' | 'آ' => Some('ا'),
            // Diacritics, the superscript alef, tatweel, zero-width (non-)joiners.
            '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' | '\u{200C}' | '\u{200D}' => None,
            other => Some(other),
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where an `idle` rule's timer stopped reading conversations by last change: the
/// last change read, and the conversation it was (none: everything up to that time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerPlace {
    pub changed_at: DateTime<Utc>,
    pub conversation_id: Option<super::ConversationId>,
}

/// What the rules look at besides the conversation.
#[derive(Clone, Debug)]
pub struct Happening<'a> {
    pub trigger: Trigger,
    /// The message's text, subject and channel (a breach has none).
    pub text: &'a str,
    pub subject: Option<&'a str>,
    pub channel: Option<Channel>,
    pub new_conversation: bool,
    /// The domains of the email addresses the message came from.
    pub sender_domains: Vec<String>,
    pub now: DateTime<Utc>,
    /// Only this rule runs (a timer fires one rule); none: every rule of the trigger.
    pub only: Option<RuleId>,
    /// The customer's tags and VIP mark, read when a rule asks (see
    /// [`RuleSet::reads_contact`]); none: no tags, not a VIP.
    pub contact: Option<super::ContactProfile>,
}

/// A rule that applied, with the events it left (the first is `rule_applied`).
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub rule_id: RuleId,
    pub rule_name: String,
    pub events: Vec<Event>,
    /// The canned reply it answers the customer with, if any.
    pub answer: Option<CannedReplyId>,
}

/// Rules ready to run: in the order they run, their words made comparable once.
#[derive(Clone, Debug, Default)]
pub struct RuleSet(std::sync::Arc<[Rule]>, std::sync::Arc<[String]>);

impl RuleSet {
    pub fn new(mut rules: Vec<Rule>) -> Self {
        order(&mut rules);
        let mut languages: Vec<String> = Vec::new();
        let prepare = |words: &mut Vec<String>| {
            for w in words.iter_mut() {
                *w = normalize_text(w).trim().to_owned();
            }
        };
        for rule in &mut rules {
            for condition in &mut rule.conditions {
                let inner: Vec<&mut Condition> = match condition {
                    Condition::Any { of } => of.iter_mut().collect(),
                    other => vec![other],
                };
                for c in inner {
                    match c {
                        Condition::TextContains { any_of }
                        | Condition::SubjectContains { any_of } => prepare(any_of),
                        Condition::Language { any_of } => languages.extend(any_of.iter().cloned()),
                        _ => {}
                    }
                }
            }
        }
        // A language is told apart from the others the rules name, and from a few
        // widely written ones (a rule naming English alone still has others to tell).
        if !languages.is_empty() {
            languages.extend(CONTRAST_LANGUAGES.iter().map(|l| (*l).to_owned()));
        }
        languages.sort();
        languages.dedup();
        Self(rules.into(), languages.into())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether an enabled rule runs on `trigger`.
    pub fn awaits(&self, trigger: Trigger) -> bool {
        self.0.iter().any(|r| r.enabled && r.trigger == trigger)
    }

    /// Whether an enabled rule asks about the customer (their tags, VIP): only then is
    /// the contact read.
    pub fn reads_contact(&self) -> bool {
        self.0.iter().filter(|r| r.enabled).any(|r| {
            r.conditions.iter().any(|c| match c {
                Condition::Any { of } => of.iter().any(asks_contact),
                other => asks_contact(other),
            })
        })
    }

    /// The enabled `idle` rules, each with its quiet spell.
    pub fn timers(&self) -> Vec<(RuleId, chrono::Duration)> {
        self.0
            .iter()
            .filter(|r| r.enabled && r.trigger == Trigger::Idle)
            .filter_map(|r| {
                r.idle_minutes
                    .map(|m| (r.id, chrono::Duration::minutes(i64::from(m))))
            })
            .collect()
    }
}

fn asks_contact(c: &Condition) -> bool {
    matches!(c, Condition::ContactTagged { .. } | Condition::Vip { .. })
}

/// The message's words, made comparable once for every rule.
struct Compared {
    text: String,
    subject: Option<String>,
    /// The message's language, among those the rules name (and English).
    language: Option<String>,
}

/// Runs `rules` for `happening` on `conversation`, changing it as their actions say;
/// returns what applied. A rule sees what the rules before it changed.
pub fn run(
    rules: &RuleSet,
    calendars: &[Calendar],
    happening: &Happening<'_>,
    conversation: &mut Conversation,
) -> Vec<Applied> {
    let mut applied = Vec::new();
    let compared = Compared {
        text: normalize_text(happening.text),
        subject: happening.subject.map(normalize_text),
        language: super::detect_language(happening.text, &rules.1),
    };
    for rule in rules.0.iter().filter(|r| {
        r.enabled && r.trigger == happening.trigger && happening.only.is_none_or(|id| id == r.id)
    }) {
        let holds = rule
            .conditions
            .iter()
            .all(|c| holds(c, calendars, happening, &compared, conversation));
        if !holds {
            continue;
        }
        let at = happening.now;
        let mut events = vec![Event::new(
            conversation.id,
            EventKind::RuleApplied {
                rule_id: rule.id,
                rule_name: rule.name.clone(),
            },
            None,
            at,
        )];
        for action in &rule.actions {
            for kind in act(action, &rule.name, conversation, at) {
                events.push(Event::new(conversation.id, kind, None, at));
            }
        }
        let answer = rule.actions.iter().find_map(|a| match a {
            Action::SendCanned { canned_reply_id } => Some(*canned_reply_id),
            _ => None,
        });
        applied.push(Applied {
            rule_id: rule.id,
            rule_name: rule.name.clone(),
            events,
            answer,
        });
        if rule.stop_processing {
            break;
        }
    }
    applied
}

/// Rules in the order they run.
pub fn order(rules: &mut [Rule]) {
    rules.sort_by_key(|r| (r.position, r.id));
}

fn holds(
    condition: &Condition,
    calendars: &[Calendar],
    h: &Happening<'_>,
    compared: &Compared,
    c: &Conversation,
) -> bool {
    // Both sides were made comparable: the words by `RuleSet::new`, the text by `run`.
    let contains =
        |haystack: &str, words: &[String]| words.iter().any(|w| haystack.contains(w.as_str()));
    match condition {
        Condition::Channel { any_of } => h.channel.is_some_and(|ch| any_of.contains(&ch)),
        Condition::TextContains { any_of } => contains(&compared.text, any_of),
        Condition::SubjectContains { any_of } => compared
            .subject
            .as_deref()
            .is_some_and(|s| contains(s, any_of)),
        Condition::NewConversation { is } => h.new_conversation == *is,
        Condition::Language { any_of } => compared
            .language
            .as_ref()
            .is_some_and(|l| any_of.contains(l)),
        Condition::SenderDomain { any_of } => h
            .sender_domains
            .iter()
            .any(|d| any_of.iter().any(|w| w.trim().eq_ignore_ascii_case(d))),
        Condition::Priority { any_of } => any_of.contains(&c.priority),
        Condition::Status { any_of } => any_of.contains(&c.status),
        Condition::Tagged { any_of } => any_of
            .iter()
            .filter_map(|t| normalize_tag(t))
            .any(|t| c.tags.contains(&t)),
        Condition::Team { any_of } => any_of.contains(&c.team_id),
        Condition::WithinHours { calendar_id, is } => {
            let open = calendars
                .iter()
                .find(|cal| cal.id == *calendar_id)
                .and_then(|cal| cal.business_hours().ok())
                .unwrap_or_else(BusinessHours::always)
                .is_open(h.now);
            open == *is
        }
        Condition::Waiting { is } => c.waiting_since.is_some() == *is,
        Condition::ContactTagged { any_of } => h.contact.as_ref().is_some_and(|p| {
            any_of
                .iter()
                .filter_map(|t| normalize_tag(t))
                .any(|t| p.tags.contains(&t))
        }),
        Condition::Vip { is } => h.contact.as_ref().is_some_and(|p| p.vip) == *is,
        Condition::MessageCount { at_least, at_most } => {
            at_least.is_none_or(|l| c.message_count >= l)
                && at_most.is_none_or(|m| c.message_count <= m)
        }
        Condition::Any { of } => of.iter().any(|x| holds(x, calendars, h, compared, c)),
    }
}

/// Applies one action; the events that tell the change, when it changed anything.
fn act(
    action: &Action,
    rule_name: &str,
    c: &mut Conversation,
    now: DateTime<Utc>,
) -> Vec<EventKind> {
    let one = |kind: Option<EventKind>| kind.into_iter().collect();
    match action {
        Action::AddNote { text } => vec![EventKind::RuleNote {
            text: text.trim().to_owned(),
        }],
        Action::NotifyAgents { agent_ids } => {
            let mut agent_ids = agent_ids.clone();
            agent_ids.sort();
            agent_ids.dedup();
            vec![EventKind::AgentsCalled {
                agent_ids,
                rule_name: rule_name.to_owned(),
            }]
        }
        Action::ApplySlaPolicy { sla_policy_id } => vec![EventKind::SlaPolicyApplied {
            sla_policy_id: *sla_policy_id,
        }],
        Action::Resolve => {
            let from = c.status;
            one((from != ConversationStatus::Resolved).then(|| {
                c.status = ConversationStatus::Resolved;
                c.snoozed_until = None;
                c.resolved_at = Some(now);
                c.waiting_since = None;
                EventKind::StatusChanged {
                    from,
                    to: ConversationStatus::Resolved,
                }
            }))
        }
        Action::Snooze { hours } => {
            let from = c.status;
            if matches!(
                from,
                ConversationStatus::Resolved | ConversationStatus::Snoozed
            ) {
                return Vec::new();
            }
            let until = now + chrono::Duration::hours(i64::from(*hours));
            c.status = ConversationStatus::Snoozed;
            c.snoozed_until = Some(until);
            vec![
                EventKind::Snoozed { until },
                EventKind::StatusChanged {
                    from,
                    to: ConversationStatus::Snoozed,
                },
            ]
        }
        Action::SetTeam { team_id } => {
            let from = c.team_id;
            one((from != Some(*team_id)).then(|| {
                c.team_id = Some(*team_id);
                EventKind::TeamChanged {
                    from,
                    to: Some(*team_id),
                }
            }))
        }
        Action::SetPriority { priority } => {
            let from = c.priority;
            one((from != *priority).then(|| {
                c.priority = *priority;
                EventKind::PriorityChanged {
                    from,
                    to: *priority,
                }
            }))
        }
        Action::RequireSkill { skill } => act(
            &Action::AddTags {
                tags: vec![format!("{}{skill}", super::SKILL_TAG)],
            },
            rule_name,
            c,
            now,
        ),
        Action::AddTags { tags } => {
            let added: Vec<String> = tags
                .iter()
                .filter_map(|t| normalize_tag(t))
                .filter(|t| !c.tags.contains(t))
                .collect();
            one((!added.is_empty()).then(|| {
                c.tags.extend(added.iter().cloned());
                c.tags.sort();
                c.tags.dedup();
                EventKind::TagsChanged {
                    added,
                    removed: vec![],
                }
            }))
        }
        // Sent by the router once the message is stored: nothing changes here.
        Action::SendCanned { .. } => Vec::new(),
        Action::Unassign => {
            let from = c.assignee_id;
            one(from.is_some().then(|| {
                c.assignee_id = None;
                EventKind::Assigned { from, to: None }
            }))
        }
        Action::Assign { agent_id } => {
            let from = c.assignee_id;
            one((from != Some(*agent_id)).then(|| {
                c.assignee_id = Some(*agent_id);
                EventKind::Assigned {
                    from,
                    to: Some(*agent_id),
                }
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContactId, ConversationId};
    use chrono::TimeZone;

    fn conversation() -> Conversation {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        Conversation {
            id: ConversationId::new(),
            contact_id: ContactId::new(),
            status: ConversationStatus::Open,
            snoozed_until: None,
            priority: Priority::Normal,
            tags: vec![],
            team_id: None,
            assignee_id: None,
            subject: None,
            channel: Channel::Web,
            channels: vec![Channel::Web],
            message_count: 1,
            preview: String::new(),
            created_at: at,
            updated_at: at,
            last_inbound_at: Some(at),
            waiting_since: Some(at),
            incident_id: None,
            resolved_at: None,
            version: 1,
        }
    }

    fn happening(text: &str) -> Happening<'_> {
        Happening {
            trigger: Trigger::MessageReceived,
            text,
            subject: None,
            channel: Some(Channel::Web),
            new_conversation: true,
            sender_domains: vec!["bank.example".into()],
            // A Monday, 09:00 UTC.
            now: Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap(),
            only: None,
            contact: None,
        }
    }

    fn rule(name: &str, conditions: Vec<Condition>, actions: Vec<Action>) -> Rule {
        Rule {
            id: RuleId::new(),
            name: name.into(),
            enabled: true,
            position: 0,
            trigger: Trigger::MessageReceived,
            conditions,
            actions,
            stop_processing: false,
            idle_minutes: None,
        }
    }

    /// Whether `condition` holds, through a rule set as the router runs one.
    fn check(
        condition: &Condition,
        calendars: &[Calendar],
        h: &Happening<'_>,
        c: &Conversation,
    ) -> bool {
        let probe = rule(
            "probe",
            vec![condition.clone()],
            vec![Action::AddTags {
                tags: words(&["checked"]),
            }],
        );
        let mut c = c.clone();
        !run(&RuleSet::new(vec![probe]), calendars, h, &mut c).is_empty()
    }

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn persian_written_with_arabic_letters_or_digits_still_matches() {
        assert_eq!(normalize_text("كارت يك"), normalize_text("کارت یک"));
        assert_eq!(normalize_text("۱۲۳٤"), "1234");
        assert_eq!(normalize_text("نمی‌کند"), "نمیکند");
        assert_eq!(normalize_text("Payment FAILED"), "payment failed");
        let payments = Condition::TextContains {
            any_of: words(&["درگاه", "پرداخت"]),
        };
        let c = conversation();
        for text in [
            "درگاه بانک خراب است",
            "پرداختم انجام نشد",
            "درگاه‌های پرداخت",
            // Arabic yeh and kaf in a neighbouring word do not matter; the word is found.
            "مشكل در پرداخت",
        ] {
            assert!(check(&payments, &[], &happening(text), &c), "{text}");
        }
        assert!(!check(&payments, &[], &happening("سلام، سفارشم کجاست؟"), &c));
        let card = Condition::TextContains {
            any_of: words(&["کارت"]),
        };
        assert!(check(&card, &[], &happening("كارت من"), &c), "Arabic kaf");
    }

    #[test]
    fn every_condition_tests_what_it_names() {
        let mut c = conversation();
        c.tags = vec!["vip".into()];
        c.message_count = 3;
        let team = TeamId::new();
        let h = happening("hello");
        let cases: Vec<(Condition, bool)> = vec![
            (
                Condition::Channel {
                    any_of: vec![Channel::Web],
                },
                true,
            ),
            (
                Condition::Channel {
                    any_of: vec![Channel::Email],
                },
                false,
            ),
            (
                Condition::SubjectContains {
                    any_of: words(&["x"]),
                },
                false,
            ),
            (Condition::NewConversation { is: true }, true),
            (Condition::NewConversation { is: false }, false),
            (
                Condition::SenderDomain {
                    any_of: words(&["BANK.example"]),
                },
                true,
            ),
            (
                Condition::SenderDomain {
                    any_of: words(&["other.example"]),
                },
                false,
            ),
            (
                Condition::Priority {
                    any_of: vec![Priority::Normal],
                },
                true,
            ),
            (
                Condition::Priority {
                    any_of: vec![Priority::High],
                },
                false,
            ),
            (
                Condition::Status {
                    any_of: vec![ConversationStatus::Open],
                },
                true,
            ),
            (
                Condition::Status {
                    any_of: vec![ConversationStatus::Pending],
                },
                false,
            ),
            (
                Condition::Tagged {
                    any_of: words(&["VIP"]),
                },
                true,
            ),
            (
                Condition::Tagged {
                    any_of: words(&["late"]),
                },
                false,
            ),
            (Condition::Team { any_of: vec![None] }, true),
            (
                Condition::Team {
                    any_of: vec![Some(team)],
                },
                false,
            ),
            (
                Condition::MessageCount {
                    at_least: Some(3),
                    at_most: None,
                },
                true,
            ),
            (
                Condition::MessageCount {
                    at_least: Some(4),
                    at_most: None,
                },
                false,
            ),
            (
                Condition::MessageCount {
                    at_least: None,
                    at_most: Some(2),
                },
                false,
            ),
            (
                Condition::Any {
                    of: vec![
                        Condition::Channel {
                            any_of: vec![Channel::Sms],
                        },
                        Condition::Tagged {
                            any_of: words(&["vip"]),
                        },
                    ],
                },
                true,
            ),
            (
                Condition::Any {
                    of: vec![Condition::Channel {
                        any_of: vec![Channel::Sms],
                    }],
                },
                false,
            ),
        ];
        for (condition, expected) in cases {
            assert_eq!(check(&condition, &[], &h, &c), expected, "{condition:?}");
        }
        let mut with_subject = happening("hi");
        with_subject.subject = Some("Refund for order 42");
        assert!(check(
            &Condition::SubjectContains {
                any_of: words(&["refund"])
            },
            &[],
            &with_subject,
            &c
        ));
    }

    #[test]
    fn within_hours_asks_the_calendar_in_its_own_zone() {
        // 09:00 UTC on a Monday is 12:30 in Tehran: open Saturday to Wednesday 09–17.
        let tehran = Calendar {
            id: CalendarId::new(),
            name: "Tehran".into(),
            hours: "sat-wed 09:00-17:00 Asia/Tehran".into(),
            holidays: vec![],
        };
        let sunday_only = Calendar {
            id: CalendarId::new(),
            name: "Sundays".into(),
            hours: "sun 09:00-17:00 UTC".into(),
            holidays: vec![],
        };
        let calendars = [tehran.clone(), sunday_only.clone()];
        let c = conversation();
        let h = happening("hi");
        let open = |calendar_id, is| Condition::WithinHours { calendar_id, is };
        assert!(check(&open(tehran.id, true), &calendars, &h, &c));
        assert!(!check(&open(tehran.id, false), &calendars, &h, &c));
        assert!(check(&open(sunday_only.id, false), &calendars, &h, &c));
    }

    #[test]
    fn rules_run_in_order_see_each_others_changes_and_stop_when_told() {
        let payments = TeamId::new();
        let lead = AgentId::new();
        let route = rule(
            "Payments",
            vec![Condition::TextContains {
                any_of: words(&["پرداخت"]),
            }],
            vec![
                Action::SetTeam { team_id: payments },
                Action::SetPriority {
                    priority: Priority::High,
                },
                Action::AddTags {
                    tags: words(&["Payments", "gateway"]),
                },
            ],
        );
        let escalate = Rule {
            position: 1,
            stop_processing: true,
            idle_minutes: None,
            ..rule(
                "High payments to the lead",
                vec![
                    Condition::Team {
                        any_of: vec![Some(payments)],
                    },
                    Condition::Priority {
                        any_of: vec![Priority::High],
                    },
                ],
                vec![Action::Assign { agent_id: lead }],
            )
        };
        let never = Rule {
            position: 2,
            ..rule(
                "After the stop",
                vec![],
                vec![Action::SetPriority {
                    priority: Priority::Low,
                }],
            )
        };
        let rules = RuleSet::new(vec![never, escalate, route]);
        let first_two = RuleSet::new(rules.0[..2].to_vec());
        let mut c = conversation();
        let applied = run(&rules, &[], &happening("پرداختم انجام نشد"), &mut c);
        let names: Vec<&str> = applied.iter().map(|a| a.rule_name.as_str()).collect();
        assert_eq!(names, ["Payments", "High payments to the lead"]);
        assert_eq!(c.team_id, Some(payments));
        assert_eq!(c.priority, Priority::High);
        assert_eq!(c.tags, ["gateway", "payments"]);
        assert_eq!(c.assignee_id, Some(lead));
        let kinds: Vec<&EventKind> = applied[0].events.iter().map(|e| &e.kind).collect();
        assert!(
            matches!(kinds[0], EventKind::RuleApplied { rule_name, .. } if rule_name == "Payments")
        );
        assert_eq!(kinds.len(), 4, "the rule, then team, priority and tags");

        // Not about payments: neither applies, and nothing changes; the rule without
        // conditions applies to anything.
        let mut other = conversation();
        assert!(run(&first_two, &[], &happening("where is my order"), &mut other).is_empty());
        assert_eq!(other, conversation_like(&other));
        let applied = run(&rules, &[], &happening("where is my order"), &mut other);
        assert_eq!(applied[0].rule_name, "After the stop");
        assert_eq!(other.priority, Priority::Low);
    }

    fn conversation_like(c: &Conversation) -> Conversation {
        Conversation {
            id: c.id,
            contact_id: c.contact_id,
            ..conversation()
        }
    }

    #[test]
    fn a_rule_that_changes_nothing_still_says_it_applied_and_a_disabled_one_never_runs() {
        let mut same = rule(
            "Already normal",
            vec![],
            vec![Action::SetPriority {
                priority: Priority::Normal,
            }],
        );
        let mut c = conversation();
        let applied = run(
            &RuleSet::new(vec![same.clone()]),
            &[],
            &happening("x"),
            &mut c,
        );
        assert_eq!(applied.len(), 1);
        assert_eq!(applied[0].events.len(), 1, "only rule_applied");
        same.enabled = false;
        assert!(
            run(
                &RuleSet::new(vec![same.clone()]),
                &[],
                &happening("x"),
                &mut c
            )
            .is_empty()
        );
        same.enabled = true;
        same.trigger = Trigger::SlaBreached;
        assert!(
            run(&RuleSet::new(vec![same]), &[], &happening("x"), &mut c).is_empty(),
            "another trigger"
        );
    }

    #[test]
    fn a_rule_that_does_not_read_is_refused() {
        let ok = rule(
            "ok",
            vec![],
            vec![Action::SetPriority {
                priority: Priority::High,
            }],
        );
        assert_eq!(ok.problem(), None);
        let no_actions = Rule {
            actions: vec![],
            ..ok.clone()
        };
        assert!(no_actions.problem().unwrap().contains("actions"));
        let nested = Rule {
            conditions: vec![Condition::Any {
                of: vec![Condition::Any { of: vec![] }],
            }],
            ..ok.clone()
        };
        assert!(nested.problem().unwrap().contains("nests"));
        let blank = Rule {
            conditions: vec![Condition::TextContains {
                any_of: words(&["\u{200C}"]),
            }],
            ..ok.clone()
        };
        assert!(blank.problem().unwrap().contains("word"));
        let bad_tag = Rule {
            actions: vec![Action::AddTags {
                tags: words(&["no spaces"]),
            }],
            ..ok.clone()
        };
        assert!(bad_tag.problem().unwrap().contains("tags"));
        let backwards = Rule {
            conditions: vec![Condition::MessageCount {
                at_least: Some(5),
                at_most: Some(2),
            }],
            ..ok
        };
        assert!(backwards.problem().unwrap().contains("in order"));
    }

    #[test]
    fn resolve_and_snooze_change_the_status_once_and_tell_it() {
        let now = happening("x").now;
        let mut c = conversation();
        let snooze = rule("Later", vec![], vec![Action::Snooze { hours: 48 }]);
        let applied = run(
            &RuleSet::new(vec![snooze.clone()]),
            &[],
            &happening("x"),
            &mut c,
        );
        assert_eq!(c.status, ConversationStatus::Snoozed);
        assert_eq!(c.snoozed_until, Some(now + chrono::Duration::hours(48)));
        let kinds: Vec<&EventKind> = applied[0].events.iter().map(|e| &e.kind).collect();
        assert!(matches!(kinds[1], EventKind::Snoozed { .. }), "{kinds:?}");
        assert!(matches!(
            kinds[2],
            EventKind::StatusChanged {
                from: ConversationStatus::Open,
                to: ConversationStatus::Snoozed
            }
        ));
        // Snoozed already: nothing more.
        let again = run(&RuleSet::new(vec![snooze]), &[], &happening("x"), &mut c);
        assert_eq!(again[0].events.len(), 1);

        let resolve = rule("Done", vec![], vec![Action::Resolve]);
        let applied = run(&RuleSet::new(vec![resolve]), &[], &happening("x"), &mut c);
        assert_eq!(c.status, ConversationStatus::Resolved);
        assert_eq!(c.snoozed_until, None);
        assert_eq!(c.resolved_at, Some(now));
        assert_eq!(c.waiting_since, None);
        assert!(matches!(
            applied[0].events[1].kind,
            EventKind::StatusChanged {
                from: ConversationStatus::Snoozed,
                to: ConversationStatus::Resolved
            }
        ));
        // A resolved conversation is not snoozed.
        let snooze = rule("Later", vec![], vec![Action::Snooze { hours: 1 }]);
        run(&RuleSet::new(vec![snooze]), &[], &happening("x"), &mut c);
        assert_eq!(c.status, ConversationStatus::Resolved);
        let too_long = rule("Never", vec![], vec![Action::Snooze { hours: 0 }]);
        assert!(too_long.problem().unwrap().contains("hours"));
    }

    #[test]
    fn notes_calls_and_policies_are_told_as_events_and_change_nothing_else() {
        let mut c = conversation();
        let before = c.clone();
        let (a, b) = (AgentId::new(), AgentId::new());
        let policy = SlaPolicyId::new();
        let r = rule(
            "Gateway down",
            vec![],
            vec![
                Action::AddNote {
                    text: "  Card payments are failing: see the status page.  ".into(),
                },
                Action::NotifyAgents {
                    agent_ids: vec![b, a, b],
                },
                Action::ApplySlaPolicy {
                    sla_policy_id: policy,
                },
            ],
        );
        assert_eq!(r.problem(), None);
        let applied = run(&RuleSet::new(vec![r]), &[], &happening("x"), &mut c);
        assert_eq!(c, before, "the conversation itself is untouched");
        let kinds: Vec<EventKind> = applied[0].events.iter().map(|e| e.kind.clone()).collect();
        let mut called = vec![a, b];
        called.sort();
        assert_eq!(
            kinds[1..],
            [
                EventKind::RuleNote {
                    text: "Card payments are failing: see the status page.".into()
                },
                EventKind::AgentsCalled {
                    agent_ids: called,
                    rule_name: "Gateway down".into()
                },
                EventKind::SlaPolicyApplied {
                    sla_policy_id: policy
                },
            ]
        );
        let blank = rule("n", vec![], vec![Action::AddNote { text: " ".into() }]);
        assert!(blank.problem().unwrap().contains("note"));
        let long = rule(
            "n",
            vec![],
            vec![Action::AddNote {
                text: "x".repeat(MAX_RULE_NOTE + 1),
            }],
        );
        assert!(long.problem().unwrap().contains("note"));
        let nobody = rule(
            "n",
            vec![],
            vec![Action::NotifyAgents { agent_ids: vec![] }],
        );
        assert!(nobody.problem().unwrap().contains("agents"));
    }

    #[test]
    fn an_idle_rule_names_its_spell_runs_alone_when_named_and_reads_waiting() {
        let mut idle = rule(
            "Nudge",
            vec![Condition::Waiting { is: true }],
            vec![Action::SetPriority {
                priority: Priority::High,
            }],
        );
        idle.trigger = Trigger::Idle;
        assert!(idle.problem().unwrap().contains("idle_minutes"));
        idle.idle_minutes = Some(0);
        assert!(idle.problem().unwrap().contains("idle_minutes"));
        idle.idle_minutes = Some(MAX_IDLE_MINUTES + 1);
        assert!(idle.problem().unwrap().contains("idle_minutes"));
        idle.idle_minutes = Some(120);
        assert_eq!(idle.problem(), None);
        let mut other = idle.clone();
        other.id = RuleId::new();
        other.trigger = Trigger::MessageReceived;
        assert!(other.problem().unwrap().contains("only an `idle` rule"));

        let mut second = idle.clone();
        second.id = RuleId::new();
        second.actions = vec![Action::AddTags {
            tags: vec!["late".into()],
        }];
        let set = RuleSet::new(vec![idle.clone(), second.clone()]);
        assert_eq!(
            set.timers(),
            vec![
                (idle.id, chrono::Duration::minutes(120)),
                (second.id, chrono::Duration::minutes(120))
            ]
        );
        let mut h = happening("");
        h.trigger = Trigger::Idle;
        h.only = Some(second.id);
        let mut c = conversation();
        let applied = run(&set, &[], &h, &mut c);
        assert_eq!(applied.len(), 1, "the named rule alone");
        assert_eq!(applied[0].rule_id, second.id);
        assert_eq!(c.priority, Priority::Normal);
        // Waiting: the customer wrote last.
        h.only = Some(idle.id);
        c.waiting_since = None;
        assert!(
            run(&set, &[], &h, &mut c).is_empty(),
            "answered: not waiting"
        );
        c.waiting_since = Some(c.created_at);
        assert_eq!(run(&set, &[], &h, &mut c).len(), 1);
        assert_eq!(c.priority, Priority::High);
    }

    #[test]
    fn contact_conditions_read_the_customers_tags_and_vip_mark() {
        let vip = rule(
            "VIPs first",
            vec![Condition::Vip { is: true }],
            vec![Action::SetPriority {
                priority: Priority::Urgent,
            }],
        );
        let wholesale = rule(
            "Wholesale",
            vec![Condition::ContactTagged {
                any_of: vec!["Wholesale".into()],
            }],
            vec![Action::AddTags {
                tags: vec!["b2b".into()],
            }],
        );
        let plain = rule("plain", vec![], vec![Action::Resolve]);
        assert!(!RuleSet::new(vec![plain]).reads_contact());
        let set = RuleSet::new(vec![vip, wholesale]);
        assert!(set.reads_contact());
        let mut h = happening("x");
        let mut c = conversation();
        assert!(run(&set, &[], &h, &mut c).is_empty(), "no profile: neither");
        h.contact = Some(crate::model::ContactProfile {
            tags: vec!["wholesale".into()],
            vip: true,
        });
        assert_eq!(run(&set, &[], &h, &mut c).len(), 2);
        assert_eq!(c.priority, Priority::Urgent);
        assert_eq!(c.tags, vec!["b2b".to_owned()]);
        let mut not_vip = rule(
            "others",
            vec![Condition::Vip { is: false }],
            vec![Action::Resolve],
        );
        not_vip.position = 1;
        h.contact = None;
        assert_eq!(run(&RuleSet::new(vec![not_vip]), &[], &h, &mut c).len(), 1);
    }

    #[test]
    fn a_rule_set_knows_which_triggers_it_awaits() {
        let mut updated = rule("On update", vec![], vec![Action::Resolve]);
        updated.trigger = Trigger::ConversationUpdated;
        let set = RuleSet::new(vec![updated.clone()]);
        assert!(set.awaits(Trigger::ConversationUpdated));
        assert!(!set.awaits(Trigger::Reopened));
        updated.enabled = false;
        assert!(!RuleSet::new(vec![updated]).awaits(Trigger::ConversationUpdated));
    }

    #[test]
    fn a_language_condition_tells_the_languages_the_rules_name_and_english_apart() {
        let persian = rule(
            "Persian",
            vec![Condition::Language {
                any_of: vec!["fa".into()],
            }],
            vec![Action::AddTags {
                tags: vec!["fa".into()],
            }],
        );
        let set = RuleSet::new(vec![persian.clone()]);
        for (text, applies) in [
            ("سلام، سفارشم کی می‌رسد؟", true),
            ("Hello, where is my order?", false),
            ("12345", false),
        ] {
            let mut c = conversation();
            let applied = run(&set, &[], &happening(text), &mut c);
            assert_eq!(!applied.is_empty(), applies, "{text}");
        }
        let english = rule(
            "English",
            vec![Condition::Language {
                any_of: vec!["en".into()],
            }],
            vec![Action::AddTags {
                tags: vec!["en".into()],
            }],
        );
        let mut c = conversation();
        let set = RuleSet::new(vec![english]);
        assert_eq!(
            run(&set, &[], &happening("Where is my order?"), &mut c).len(),
            1
        );
        assert!(run(&set, &[], &happening("سفارشم کجاست؟"), &mut c).is_empty());
        let unknown = Rule {
            conditions: vec![Condition::Language {
                any_of: vec!["persian".into()],
            }],
            ..persian
        };
        assert!(unknown.problem().unwrap().contains("ISO 639-1"));
        let skill = rule(
            "Skill",
            vec![],
            vec![Action::RequireSkill {
                skill: "refunds".into(),
            }],
        );
        let mut c = conversation();
        run(&RuleSet::new(vec![skill]), &[], &happening("x"), &mut c);
        assert_eq!(c.tags, ["skill:refunds"]);
    }
}
