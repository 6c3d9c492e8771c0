//! Service levels at work: the keeper, a subscriber of the event log, moves each
//! conversation's clocks on as things happen (a customer's message, an agent's reply, a
//! status change, a new priority); the sweeper tells each breach, once, as an event on
//! the conversation's timeline (and so in the log, to webhooks and rules).
//!
//! A conversation is measured from its first customer message that a policy covers: the
//! closest policy for its team and channel is applied then and kept.

use super::error::ServiceResult;
use super::route::RuleBook;
use super::subscriber::Subscriber;
use crate::model::{
    Calendar, Change, ChangeType, ConversationId, ConversationSla, ConversationStatus, Event,
    EventKind, Priority, SlaFact, SlaPolicy, SlaPolicyId, Trigger, policy_for,
};
use crate::ports::{ContactStore, ConversationStore, PortError, PortResult, RuleStore, SlaStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::Arc;

/// What a change does to a conversation's clocks.
enum Step {
    Fact(SlaFact),
    Priority(Priority, DateTime<Utc>),
    /// A rule chose the policy.
    Policy(SlaPolicyId, DateTime<Utc>),
}

/// Keeps every conversation's clocks as the event log tells what happened.
pub struct SlaKeeper {
    pub conversations: Arc<dyn ConversationStore>,
    pub slas: Arc<dyn SlaStore>,
}

/// The admin's policies and calendars, read once per batch and only when needed.
#[derive(Default)]
struct Setup {
    read: Option<(Vec<SlaPolicy>, Vec<Calendar>)>,
}

impl Setup {
    async fn get(&mut self, slas: &dyn SlaStore) -> PortResult<&(Vec<SlaPolicy>, Vec<Calendar>)> {
        if self.read.is_none() {
            self.read = Some((slas.sla_policies().await?, slas.calendars().await?));
        }
        Ok(self.read.get_or_insert_default())
    }
}

#[async_trait]
impl Subscriber for SlaKeeper {
    fn name(&self) -> &'static str {
        "sla"
    }

    async fn handle(&self, changes: &[Change]) -> ServiceResult<()> {
        let mut setup = Setup::default();
        for change in changes {
            self.take(change, &mut setup).await?;
        }
        Ok(())
    }
}

impl SlaKeeper {
    async fn take(&self, change: &Change, setup: &mut Setup) -> PortResult<()> {
        let Some(id) = change.conversation_id else {
            return Ok(());
        };
        let Some(step) = self.step(id, change).await? else {
            return Ok(());
        };
        let mut sla = match self.slas.conversation_sla(id).await? {
            Some(sla) => sla,
            None => {
                // Measuring starts with a customer's message, or a rule's choice.
                let chosen = match step {
                    Step::Fact(SlaFact::CustomerMessage(_)) => None,
                    Step::Policy(policy, _) => Some(policy),
                    _ => return Ok(()),
                };
                let Some(conversation) = self.conversations.conversation(id).await? else {
                    return Ok(());
                };
                let (policies, calendars) = setup.get(self.slas.as_ref()).await?;
                let policy = match chosen {
                    Some(chosen) => policies.iter().find(|p| p.id == chosen),
                    None => policy_for(policies, conversation.team_id, conversation.channel),
                };
                let Some(policy) = policy else {
                    return Ok(());
                };
                let mut sla = ConversationSla::new(
                    id,
                    policy,
                    calendar_of(policy, calendars),
                    conversation.priority,
                );
                if chosen.is_some()
                    && let Some(since) = conversation.waiting_since
                {
                    // Chosen after the message came: measured from the oldest one
                    // still unanswered.
                    sla.apply(SlaFact::CustomerMessage(since));
                }
                sla
            }
        };
        if !sla.take_change(&change.id) {
            return Ok(());
        }
        match step {
            Step::Fact(fact) => sla.apply(fact),
            Step::Priority(priority, at) => {
                let (policies, _) = setup.get(self.slas.as_ref()).await?;
                match policies.iter().find(|p| p.id == sla.policy_id) {
                    Some(policy) => sla.retarget(&policy.targets, priority, at),
                    // The policy is gone: its targets as applied stand.
                    None => sla.priority = priority,
                }
            }
            Step::Policy(chosen, at) => {
                let (policies, calendars) = setup.get(self.slas.as_ref()).await?;
                if sla.policy_id != chosen
                    && let Some(policy) = policies.iter().find(|p| p.id == chosen)
                {
                    sla.switch_policy(policy, calendar_of(policy, calendars), at);
                }
            }
        }
        self.slas.save_conversation_sla(&sla).await?;
        Ok(())
    }

    /// What `change` means for the clocks, if anything.
    async fn step(&self, id: ConversationId, change: &Change) -> PortResult<Option<Step>> {
        let at = change.at;
        let from_event = matches!(
            change.kind,
            ChangeType::ConversationStatusChanged
                | ChangeType::ConversationReopened
                | ChangeType::ConversationSnoozed
                | ChangeType::ConversationPriorityChanged
                | ChangeType::ConversationSlaPolicyApplied
                | ChangeType::ConversationIncidentLinked
                | ChangeType::ConversationIncidentUnlinked
        );
        if !from_event {
            return Ok(match change.kind {
                ChangeType::MessageReceived => Some(Step::Fact(SlaFact::CustomerMessage(at))),
                // An agent's reply; what the system sends (an acknowledgement) is none.
                ChangeType::ReplyQueued if change.actor_id.is_some() => {
                    Some(Step::Fact(SlaFact::AgentReply(at)))
                }
                _ => None,
            });
        }
        let Some(event_id) = change.event_id else {
            return Ok(None);
        };
        let Some(event) = self.conversations.event(id, event_id).await? else {
            return Ok(None);
        };
        Ok(match event.kind {
            EventKind::StatusChanged { to, .. } => Some(Step::Fact(SlaFact::Status(to, at))),
            EventKind::Reopened => Some(Step::Fact(SlaFact::Status(ConversationStatus::Open, at))),
            EventKind::Snoozed { .. } => {
                Some(Step::Fact(SlaFact::Status(ConversationStatus::Snoozed, at)))
            }
            EventKind::PriorityChanged { to, .. } => Some(Step::Priority(to, at)),
            EventKind::SlaPolicyApplied { sla_policy_id } => Some(Step::Policy(sla_policy_id, at)),
            EventKind::IncidentLinked { .. } => Some(Step::Fact(SlaFact::Incident(true, at))),
            EventKind::IncidentUnlinked { .. } => Some(Step::Fact(SlaFact::Incident(false, at))),
            _ => None,
        })
    }
}

/// The calendar `policy` counts in, as it stands; none: around the clock.
fn calendar_of(policy: &SlaPolicy, calendars: &[Calendar]) -> Option<Calendar> {
    policy
        .calendar_id
        .and_then(|c| calendars.iter().find(|cal| cal.id == c).cloned())
}

/// Records read per round of a sweep.
const SWEEP_BATCH: u32 = 100;

/// Tells every warning and breach that has come by `now` and no event has told yet, as
/// `sla_due_soon` and `sla_breached` events on its conversation, and runs the rules they
/// trigger; returns how many it told. The record is marked first, so two sweepers never
/// both tell one.
pub async fn announce_breaches(
    slas: &dyn SlaStore,
    conversations: &dyn ConversationStore,
    contacts: &dyn ContactStore,
    rules: &dyn RuleStore,
    now: DateTime<Utc>,
) -> PortResult<usize> {
    let mut book: Option<RuleBook> = None;
    let mut announced = 0;
    let mut seen = HashSet::new();
    loop {
        let due = slas.slas_to_wake(now, SWEEP_BATCH).await?;
        let batch = due.len();
        let mut fresh = 0;
        for mut sla in due {
            if !seen.insert(sla.conversation_id) {
                continue;
            }
            fresh += 1;
            let id = sla.conversation_id;
            let told = sla.announce(now);
            let Some(conversation) = conversations.conversation(id).await? else {
                // Folded or erased meanwhile: nothing is owed any more.
                sla.forget();
                save_unless_changed(slas, &sla).await?;
                continue;
            };
            if !save_unless_changed(slas, &sla).await? {
                continue;
            }
            if told.is_empty() {
                continue;
            }
            let warnings = told.due_soon.iter().map(|b| EventKind::SlaDueSoon {
                target: b.target,
                due_at: b.due_at,
            });
            let breaches = told.breached.iter().map(|b| EventKind::SlaBreached {
                target: b.target,
                due_at: b.due_at,
            });
            let events: Vec<Event> = warnings
                .chain(breaches)
                .map(|kind| Event::new(id, kind, None, now))
                .collect();
            let book = match &book {
                Some(book) => book,
                None => book.insert(RuleBook::read(rules, slas).await?),
            };
            let mut triggers = Vec::new();
            if !told.due_soon.is_empty() {
                triggers.push(Trigger::SlaDueSoon);
            }
            if !told.breached.is_empty() {
                triggers.push(Trigger::SlaBreached);
            }
            let contact = book.contact_of(contacts, &conversation).await?;
            tell(
                conversations,
                conversation,
                &events,
                (book, contact),
                &triggers,
                now,
            )
            .await?;
            for b in &told.due_soon {
                tracing::info!(conversation_id = %id, target = b.target.as_str(), due_at = %b.due_at, "SLA due soon");
            }
            for b in &told.breached {
                tracing::info!(conversation_id = %id, target = b.target.as_str(), due_at = %b.due_at, "SLA breached");
            }
            announced += events.len();
        }
        if batch < SWEEP_BATCH as usize || fresh == 0 {
            return Ok(announced);
        }
    }
}

/// True when saved; false when someone else saved the record first (their save stands,
/// and the next sweep looks again).
async fn save_unless_changed(slas: &dyn SlaStore, sla: &ConversationSla) -> PortResult<bool> {
    match slas.save_conversation_sla(sla).await {
        Ok(_) => Ok(true),
        Err(PortError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes the warning and breach `events` on the conversation's timeline with what the
/// rules they trigger do to it, on the conversation as it stands however often it
/// changes.
async fn tell(
    conversations: &dyn ConversationStore,
    mut conversation: crate::model::Conversation,
    events: &[Event],
    (book, contact): (&RuleBook, Option<crate::model::ContactProfile>),
    triggers: &[Trigger],
    now: DateTime<Utc>,
) -> PortResult<()> {
    for _ in 0..5 {
        let mut next = conversation.clone();
        let mut all = events.to_vec();
        for trigger in triggers {
            for applied in book.on(*trigger, contact.clone(), &mut next, now) {
                all.extend(applied.events);
            }
        }
        match conversations
            .save_conversation(&next, conversation.version, &all)
            .await
        {
            Ok(_) => return Ok(()),
            Err(PortError::Conflict(_)) => {
                match conversations.conversation(conversation.id).await? {
                    Some(now) => conversation = now,
                    None => return Ok(()),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(PortError::Unavailable(format!(
        "conversation {} kept changing while its SLA breach was told",
        conversation.id
    )))
}
