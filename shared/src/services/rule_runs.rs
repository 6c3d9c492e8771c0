//! The rules that run on what happens to a conversation after a message: an agent's
//! change (`conversation_updated`) and a reopen (`reopened`), read by a subscriber of the
//! event log; its agent going offline (`assignee_offline`), run when they do; and a
//! quiet spell (`idle`), found by the sweeper through the status index.
//!
//! Loops cannot happen: `conversation_updated` is an agent's change only (the log names
//! the agent), and what a rule changes names none; no rule reopens. A change handed over
//! twice runs the rules twice, and what they set is set already: a rule that changes
//! nothing leaves nothing on the timeline.

use super::error::ServiceResult;
use super::route::RuleBook;
use super::subscriber::Subscriber;
use crate::model::{
    AgentId, Change, ChangeType, Conversation, ConversationId, ConversationStatus, Event,
    EventKind, RuleId, TimerPlace, Trigger,
};
use crate::ports::{
    AssigneeFilter, ContactStore, ConversationFilter, ConversationStore, PageRequest, PortError,
    PortResult, RuleStore, SlaStore, StatusFilter,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::Arc;

/// Runs the rules on agents' changes and on reopens.
pub struct RuleRunner {
    pub conversations: Arc<dyn ConversationStore>,
    pub contacts: Arc<dyn ContactStore>,
    pub rules: Arc<dyn RuleStore>,
    pub calendars: Arc<dyn SlaStore>,
}

#[async_trait]
impl Subscriber for RuleRunner {
    fn name(&self) -> &'static str {
        "rules"
    }

    async fn handle(&self, changes: &[Change]) -> ServiceResult<()> {
        let mut book: Option<RuleBook> = None;
        // One agent's save of several fields is one update.
        let mut ran: HashSet<(ConversationId, Trigger, DateTime<Utc>)> = HashSet::new();
        for change in changes {
            let Some(id) = change.conversation_id else {
                continue;
            };
            if !might_trigger(change) {
                continue;
            }
            let book = match &book {
                Some(book) => book,
                None => {
                    book.insert(RuleBook::read(self.rules.as_ref(), self.calendars.as_ref()).await?)
                }
            };
            if !book.awaits(Trigger::ConversationUpdated) && !book.awaits(Trigger::Reopened) {
                continue;
            }
            for trigger in self.triggers(id, change).await? {
                if book.awaits(trigger) && ran.insert((id, trigger, change.at)) {
                    let stores = (self.conversations.as_ref(), self.contacts.as_ref());
                    run_or_skip(stores, id, book, trigger, None).await?;
                }
            }
        }
        Ok(())
    }
}

/// Whether `change` is of a kind that can start a run.
fn might_trigger(change: &Change) -> bool {
    match change.kind {
        ChangeType::ConversationReopened | ChangeType::ConversationStatusChanged => true,
        ChangeType::ConversationAssigned
        | ChangeType::ConversationPriorityChanged
        | ChangeType::ConversationTeamChanged
        | ChangeType::ConversationTagsChanged
        | ChangeType::ConversationSnoozed => change.actor_id.is_some(),
        _ => false,
    }
}

impl RuleRunner {
    /// The triggers `change` fires: an agent's change is an update; a conversation that
    /// opens again after being resolved or snoozed is a reopen (whoever did it).
    async fn triggers(&self, id: ConversationId, change: &Change) -> PortResult<Vec<Trigger>> {
        let mut triggers = Vec::new();
        if change.actor_id.is_some() {
            triggers.push(Trigger::ConversationUpdated);
        }
        let reopened = match change.kind {
            ChangeType::ConversationReopened => true,
            ChangeType::ConversationStatusChanged => match change.event_id {
                Some(event_id) => self
                    .conversations
                    .event(id, event_id)
                    .await?
                    .is_some_and(|e| {
                        matches!(
                            e.kind,
                            EventKind::StatusChanged {
                                from: ConversationStatus::Resolved | ConversationStatus::Snoozed,
                                to: ConversationStatus::Open,
                            }
                        )
                    }),
                None => false,
            },
            _ => false,
        };
        if reopened {
            triggers.push(Trigger::Reopened);
        }
        Ok(triggers)
    }
}

/// Most conversations of one agent the `assignee_offline` rules run on.
const MAX_OFFLINE_RUNS: usize = 1000;

/// Runs the `assignee_offline` rules on each unresolved conversation assigned to
/// `agent`, who just went offline; returns how many conversations they ran on.
pub async fn on_assignee_offline(
    (conversations, contacts): (&dyn ConversationStore, &dyn ContactStore),
    rules: &dyn RuleStore,
    calendars: &dyn SlaStore,
    agent: AgentId,
) -> PortResult<usize> {
    let book = RuleBook::read(rules, calendars).await?;
    if !book.awaits(Trigger::AssigneeOffline) {
        return Ok(0);
    }
    // Read first, then change: a rule that unassigns moves conversations out of the
    // list being paged.
    let mut theirs = Vec::new();
    for status in [
        ConversationStatus::Open,
        ConversationStatus::Pending,
        ConversationStatus::Snoozed,
    ] {
        let filter = ConversationFilter {
            status: StatusFilter::Only(status),
            assignee: AssigneeFilter::Agent(agent),
            ..Default::default()
        };
        let mut page = PageRequest::first(crate::ports::MAX_PAGE_SIZE);
        while theirs.len() < MAX_OFFLINE_RUNS {
            let listed = conversations.list_conversations(&filter, &page).await?;
            theirs.extend(listed.items.into_iter().map(|c| c.id));
            match listed.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => break,
            }
        }
    }
    theirs.truncate(MAX_OFFLINE_RUNS);
    for id in &theirs {
        run_or_skip(
            (conversations, contacts),
            *id,
            &book,
            Trigger::AssigneeOffline,
            None,
        )
        .await?;
    }
    Ok(theirs.len())
}

/// Conversations read per page by a timer, and pages per timer and status per sweep.
const TIMER_PAGE: u32 = 100;
const TIMER_PAGES: usize = 10;
/// How far back a new `idle` rule looks: conversations already quiet for longer than
/// its spell when it is made are run on too, back to a week before.
const TIMER_FIRST_LOOK_BACK: chrono::Duration = chrono::Duration::days(7);
/// The statuses a quiet spell counts in.
const UNRESOLVED: [ConversationStatus; 3] = [
    ConversationStatus::Open,
    ConversationStatus::Pending,
    ConversationStatus::Snoozed,
];

/// Runs each `idle` rule on the unresolved conversations whose quiet spell ran out since
/// the last sweep (read through the status index, from where the last sweep stopped);
/// returns how many conversations it looked at. Each timer keeps its place, so a
/// conversation is run on once per quiet spell.
pub async fn run_timers(
    (conversations, contacts): (&dyn ConversationStore, &dyn ContactStore),
    rules: &dyn RuleStore,
    calendars: &dyn SlaStore,
    now: DateTime<Utc>,
) -> PortResult<usize> {
    let book = RuleBook::read(rules, calendars).await?;
    let mut looked = 0;
    for (rule, spell) in book.rules.timers() {
        let until = now - spell;
        for status in UNRESOLVED {
            let name = format!("{rule}:{}:{}", spell.num_minutes(), status.as_str());
            let mut place = rules.timer_place(&name).await?.unwrap_or(TimerPlace {
                changed_at: until - TIMER_FIRST_LOOK_BACK,
                conversation_id: None,
            });
            for _ in 0..TIMER_PAGES {
                let after = (place.changed_at, place.conversation_id);
                let quiet = conversations
                    .changed_between(status, after, until, TIMER_PAGE)
                    .await?;
                for c in &quiet {
                    let timer = Some((rule, until));
                    run_or_skip((conversations, contacts), c.id, &book, Trigger::Idle, timer)
                        .await?;
                }
                looked += quiet.len();
                let full = quiet.len() == TIMER_PAGE as usize;
                place = match quiet.last() {
                    Some(last) if full => TimerPlace {
                        changed_at: last.updated_at,
                        conversation_id: Some(last.id),
                    },
                    // All read up to `until`: on from just after it.
                    _ => TimerPlace {
                        changed_at: until + chrono::Duration::milliseconds(1),
                        conversation_id: None,
                    },
                };
                rules.save_timer_place(&name, &place).await?;
                if !full {
                    break;
                }
            }
        }
    }
    Ok(looked)
}

/// [`run`], but a conversation that kept changing under the rules is left as the agents
/// made it (logged), so one busy conversation holds back no other.
async fn run_or_skip(
    stores: (&dyn ConversationStore, &dyn ContactStore),
    id: ConversationId,
    book: &RuleBook,
    trigger: Trigger,
    timer: Option<(RuleId, DateTime<Utc>)>,
) -> PortResult<()> {
    match run(stores, id, book, trigger, timer).await {
        Err(PortError::Conflict(reason)) => {
            tracing::warn!(conversation_id = %id, %reason, "rules skipped on a busy conversation");
            Ok(())
        }
        other => other,
    }
}

/// Runs the rules for `trigger` on the conversation as it stands and saves what they
/// changed, however often it changes meanwhile; nothing when they change nothing. A
/// `timer` runs its one rule, and only while the conversation is still unresolved and
/// not changed after the time it names (now less the rule's quiet spell).
async fn run(
    (conversations, contacts): (&dyn ConversationStore, &dyn ContactStore),
    id: ConversationId,
    book: &RuleBook,
    trigger: Trigger,
    timer: Option<(RuleId, DateTime<Utc>)>,
) -> PortResult<()> {
    let Some(mut conversation) = conversations.conversation(id).await? else {
        return Ok(());
    };
    let contact = book.contact_of(contacts, &conversation).await?;
    for _ in 0..5 {
        let mut next: Conversation = conversation.clone();
        let now = Utc::now();
        if let Some((_, quiet_since)) = timer
            && (next.status == ConversationStatus::Resolved || next.updated_at > quiet_since)
        {
            return Ok(());
        }
        let events: Vec<Event> = book
            .on_only(
                trigger,
                timer.map(|(rule, _)| rule),
                contact.clone(),
                &mut next,
                now,
            )
            .into_iter()
            // The `rule_applied` event alone: the rule changed nothing.
            .filter(|applied| applied.events.len() > 1)
            .flat_map(|applied| applied.events)
            .collect();
        if events.is_empty() {
            return Ok(());
        }
        next.updated_at = now;
        match conversations
            .save_conversation(&next, conversation.version, &events)
            .await
        {
            Ok(_) => return Ok(()),
            Err(PortError::Conflict(_)) => match conversations.conversation(id).await? {
                Some(now) => conversation = now,
                None => return Ok(()),
            },
            Err(e) => return Err(e),
        }
    }
    Err(PortError::Conflict(format!(
        "conversation {id} kept changing while its rules ran"
    )))
}
