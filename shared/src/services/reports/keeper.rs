//! The keeper, a subscriber of the event log, turns what happens to each conversation
//! into counters (see `model::report` for the definitions).

use crate::model::{
    BusinessHours, Calendar, Change, ChangeType, Conversation, ConversationId, ConversationStatus,
    Count, EventKind, Fact, Occurrence, ReportTrack, SlaPolicy, Snapshot, policy_for,
};
use crate::ports::{ConversationStore, PortError, PortResult, ReportStore, SlaStore};
use crate::services::error::ServiceResult;
use crate::services::subscriber::Subscriber;
use async_trait::async_trait;
use std::sync::Arc;

/// Keeps the counters as the event log tells what happened.
pub struct ReportKeeper {
    pub conversations: Arc<dyn ConversationStore>,
    pub reports: Arc<dyn ReportStore>,
    /// The SLA policies' calendars measure business time.
    pub slas: Arc<dyn SlaStore>,
}

#[async_trait]
impl Subscriber for ReportKeeper {
    fn name(&self) -> &'static str {
        "reports"
    }

    async fn handle(&self, changes: &[Change]) -> ServiceResult<()> {
        let mut setup = None;
        for change in changes {
            self.take(change, &mut setup).await?;
        }
        Ok(())
    }
}

type Setup = Option<(Vec<SlaPolicy>, Vec<Calendar>)>;

/// A conversation met first this long after it began was there before counting began.
const JOINED_LATE_AFTER: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// What a change makes of a conversation, for counting.
enum What {
    Occurred(Occurrence),
    /// Tags were put on it.
    Tagged(Vec<String>),
}

/// Tries at counting one change while another counts the same conversation.
const TRIES: usize = 5;

impl ReportKeeper {
    /// What the change's timeline event says; none when it names none (or it is gone).
    async fn told(&self, id: ConversationId, change: &Change) -> PortResult<Option<EventKind>> {
        let Some(event_id) = change.event_id else {
            return Ok(None);
        };
        Ok(self
            .conversations
            .event(id, event_id)
            .await?
            .map(|e| e.kind))
    }

    async fn take(&self, change: &Change, setup: &mut Setup) -> PortResult<()> {
        let Some(id) = change.conversation_id else {
            return Ok(());
        };
        for _ in 0..TRIES {
            match self.try_take(id, change, setup).await {
                Err(PortError::Conflict(_)) => continue,
                other => return other,
            }
        }
        Err(PortError::Unavailable(format!(
            "conversation {id} kept changing while its report counters were kept"
        )))
    }

    async fn try_take(
        &self,
        id: ConversationId,
        change: &Change,
        setup: &mut Setup,
    ) -> PortResult<()> {
        let at = change.at;
        let stored = self.reports.report_track(id).await?;
        let resolved = stored.as_ref().is_some_and(|t| t.resolved);
        let what = match change.kind {
            ChangeType::ConversationCreated => What::Occurred(Occurrence::Created(at)),
            ChangeType::MessageReceived => What::Occurred(Occurrence::CustomerMessage(at)),
            // An agent's reply; what the system sends (an acknowledgement, a rule's
            // canned reply) is none.
            ChangeType::ReplyQueued => match change.actor_id {
                Some(agent) => What::Occurred(Occurrence::AgentReply(at, agent)),
                None => return Ok(()),
            },
            ChangeType::ConversationReopened => What::Occurred(Occurrence::Reopened(at)),
            ChangeType::ConversationSurveySent => What::Occurred(Occurrence::SurveySent(at)),
            ChangeType::ConversationCsatRated => match self.told(id, change).await? {
                Some(EventKind::CsatRated { rating, nps, .. }) => {
                    What::Occurred(Occurrence::Rated(at, rating, nps))
                }
                _ => return Ok(()),
            },
            ChangeType::ConversationStatusChanged | ChangeType::ConversationTagsChanged => {
                match self.told(id, change).await? {
                    Some(EventKind::StatusChanged {
                        to: ConversationStatus::Resolved,
                        ..
                    }) => What::Occurred(Occurrence::Resolved(at)),
                    Some(EventKind::StatusChanged { .. }) if resolved => {
                        What::Occurred(Occurrence::Reopened(at))
                    }
                    Some(EventKind::TagsChanged { added, .. }) if !added.is_empty() => {
                        What::Tagged(added)
                    }
                    _ => return Ok(()),
                }
            }
            _ => return Ok(()),
        };
        let Some(conversation) = self.conversations.conversation(id).await? else {
            // Folded or erased: nothing of it is counted any more.
            return Ok(());
        };
        let mut track = match stored {
            Some(track) => track,
            // Met first long after it began: it began before counting did.
            None if change.kind != ChangeType::ConversationCreated
                && conversation.created_at < at - JOINED_LATE_AFTER =>
            {
                ReportTrack::joined_late(id)
            }
            None => ReportTrack::new(id),
        };
        if !track.take_change(&change.id) {
            return Ok(());
        }
        let snapshot = Snapshot {
            channel: conversation.channel,
            team_id: conversation.team_id,
            assignee_id: conversation.assignee_id,
            priority: conversation.priority,
            tags: conversation.tags.clone(),
        };
        let dimensions = snapshot.dimensions(None);
        let facts = match what {
            What::Tagged(added) => added.iter().map(|tag| Fact::tagged(at, tag)).collect(),
            What::Occurred(occurrence) => {
                let calendar = self.calendar_of(&conversation, setup).await?;
                track.apply(occurrence, calendar.as_ref(), &dimensions)
            }
        };
        let counts: Vec<Count> = facts
            .iter()
            .flat_map(|fact| fact.counts(&dimensions))
            .collect();
        self.reports.record(&track, &counts).await?;
        Ok(())
    }

    /// The business hours a conversation's times are counted in: those of the policy
    /// that measures it (a rule may have chosen it), else of the one that fits it.
    async fn calendar_of(
        &self,
        conversation: &Conversation,
        setup: &mut Setup,
    ) -> PortResult<Option<BusinessHours>> {
        let measured = self
            .slas
            .conversation_sla(conversation.id)
            .await?
            .map(|sla| sla.policy_id);
        let (policies, calendars) = match setup {
            Some(read) => read,
            None => setup.insert((
                self.slas.sla_policies().await?,
                self.slas.calendars().await?,
            )),
        };
        let policy = match measured {
            Some(chosen) => policies.iter().find(|p| p.id == chosen),
            None => policy_for(policies, conversation.team_id, conversation.channel),
        };
        Ok(policy
            .and_then(|p| p.calendar_id)
            .and_then(|c| calendars.iter().find(|cal| cal.id == c))
            .and_then(|cal| cal.business_hours().ok()))
    }
}
