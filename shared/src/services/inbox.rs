//! What agents do with conversations: read, change, reply, note.

use super::error::{ServiceError, ServiceResult};
use super::send::{address_kind, queue_reply};
use crate::model::{
    Agent, AgentId, Attachment, Author, Channel, Conversation, ConversationId, ConversationStatus,
    DeliveryStatus, Direction, Event, EventKind, Message, MessageId, Note, NoteId, Priority,
    TeamId, TimelineItem, normalize_tag,
};
use crate::ports::{
    AgentStore, Blob, BlobStore, ContactStore, ConversationFilter, ConversationStore, MessageStore,
    Page, PageRequest, PortError, Queue, TeamStore,
};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::Arc;

/// Longest reply or note, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;

#[derive(Clone)]
pub struct Inbox {
    pub conversations: Arc<dyn ConversationStore>,
    pub messages: Arc<dyn MessageStore>,
    pub contacts: Arc<dyn ContactStore>,
    pub agents: Arc<dyn AgentStore>,
    pub teams: Arc<dyn TeamStore>,
    pub queue: Arc<dyn Queue>,
    pub blobs: Arc<dyn BlobStore>,
    /// Channels replies can go out on.
    pub reply_channels: Arc<HashSet<Channel>>,
}

/// A change to a conversation; absent fields stay as they are. `Some(None)` clears.
#[derive(Clone, Debug, Default)]
pub struct ConversationPatch {
    pub status: Option<ConversationStatus>,
    pub snoozed_until: Option<Option<DateTime<Utc>>>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<Option<AgentId>>,
    pub team_id: Option<Option<TeamId>>,
    pub tags: Option<Vec<String>>,
}

impl Inbox {
    pub async fn list(
        &self,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> ServiceResult<Page<Conversation>> {
        Ok(self.conversations.list_conversations(filter, page).await?)
    }

    pub async fn get(&self, id: ConversationId) -> ServiceResult<Conversation> {
        self.conversations
            .conversation(id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))
    }

    pub async fn timeline(
        &self,
        id: ConversationId,
        page: &PageRequest,
    ) -> ServiceResult<Page<TimelineItem>> {
        self.get(id).await?;
        Ok(self.conversations.timeline(id, page).await?)
    }

    pub async fn patch(
        &self,
        id: ConversationId,
        patch: ConversationPatch,
        actor: &Agent,
    ) -> ServiceResult<Conversation> {
        if let Some(Some(agent)) = patch.assignee_id {
            self.agents
                .agent(agent)
                .await?
                .ok_or_else(|| ServiceError::Invalid(format!("no agent {agent}")))?;
        }
        if let Some(Some(team)) = patch.team_id {
            self.teams
                .team(team)
                .await?
                .ok_or_else(|| ServiceError::Invalid(format!("no team {team}")))?;
        }
        let tags = patch
            .tags
            .as_ref()
            .map(|tags| {
                let mut normalized = tags
                    .iter()
                    .map(|t| {
                        normalize_tag(t).ok_or_else(|| {
                            ServiceError::Invalid(format!("`{t}` is not a valid tag"))
                        })
                    })
                    .collect::<ServiceResult<Vec<_>>>()?;
                normalized.sort();
                normalized.dedup();
                if normalized.len() > 20 {
                    return Err(ServiceError::Invalid("at most 20 tags".into()));
                }
                Ok(normalized)
            })
            .transpose()?;
        // Optimistic concurrency: re-read and re-apply when someone else saved first.
        for _ in 0..5 {
            let current = self.get(id).await?;
            let now = Utc::now();
            let (next, events) = apply_patch(&current, &patch, tags.clone(), actor.id, now)?;
            if events.is_empty() {
                return Ok(current);
            }
            match self
                .conversations
                .save_conversation(&next, current.version, &events)
                .await
            {
                Ok(saved) => return Ok(saved),
                Err(PortError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict(
            "the conversation is changing too often; try again".into(),
        ))
    }

    /// Stores the reply as queued and hands it to the sender.
    pub async fn reply(
        &self,
        id: ConversationId,
        text: &str,
        channel: Option<Channel>,
        actor: &Agent,
    ) -> ServiceResult<Message> {
        let text = checked_text(text)?;
        let conversation = self.get(id).await?;
        let channel = channel.unwrap_or(conversation.channel);
        if !self.reply_channels.contains(&channel) {
            return Err(ServiceError::Invalid(format!(
                "replies on the {} channel are not configured",
                channel.as_str()
            )));
        }
        if let Some(kind) = address_kind(channel) {
            let contact = self
                .contacts
                .contact(conversation.contact_id)
                .await?
                .ok_or(ServiceError::NotFound("contact"))?;
            if !contact.identities.iter().any(|i| i.identity.kind == kind) {
                return Err(ServiceError::Invalid(format!(
                    "the contact has no {} address",
                    kind.as_str()
                )));
            }
        }
        let message = Message {
            id: MessageId::new(),
            conversation_id: id,
            contact_id: conversation.contact_id,
            direction: Direction::Outbound,
            channel,
            author: Author::Agent { agent_id: actor.id },
            text,
            attachments: Vec::new(),
            source_id: None,
            delivery_status: DeliveryStatus::Queued,
            delivery_error: None,
            created_at: Utc::now(),
            reply_to: None,
            edit_of: None,
            media_group: None,
        };
        queue_reply(self.messages.as_ref(), self.queue.as_ref(), &message).await?;
        tracing::info!(message_id = %message.id, conversation_id = %id, channel = channel.as_str(), "reply queued");
        Ok(message)
    }

    /// A message's `index`th attachment and its bytes.
    pub async fn attachment(
        &self,
        message_id: MessageId,
        index: usize,
    ) -> ServiceResult<(Attachment, Blob)> {
        let message = self
            .messages
            .message(message_id)
            .await?
            .ok_or(ServiceError::NotFound("message"))?;
        let attachment = message
            .attachments
            .into_iter()
            .nth(index)
            .ok_or(ServiceError::NotFound("attachment"))?;
        if !attachment.is_stored() {
            return Err(ServiceError::Conflict(format!(
                "the file is not stored: {}",
                attachment
                    .fetch_error
                    .as_deref()
                    .unwrap_or("it is still being fetched")
            )));
        }
        let blob = self
            .blobs
            .get(&attachment.blob_key)
            .await?
            .ok_or(ServiceError::NotFound("attachment"))?;
        Ok((attachment, blob))
    }

    pub async fn note(&self, id: ConversationId, text: &str, actor: &Agent) -> ServiceResult<Note> {
        let text = checked_text(text)?;
        self.get(id).await?;
        let note = Note {
            id: NoteId::new(),
            conversation_id: id,
            author_id: actor.id,
            text,
            created_at: Utc::now(),
        };
        self.conversations.add_note(&note).await?;
        Ok(note)
    }
}

fn checked_text(text: &str) -> ServiceResult<String> {
    if text.trim().is_empty() {
        return Err(ServiceError::Invalid("text must not be empty".into()));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ServiceError::Invalid(format!(
            "text is longer than {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(text.to_owned())
}

/// The conversation after `patch`, and the events that record the change.
fn apply_patch(
    current: &Conversation,
    patch: &ConversationPatch,
    tags: Option<Vec<String>>,
    actor: AgentId,
    now: DateTime<Utc>,
) -> ServiceResult<(Conversation, Vec<Event>)> {
    let mut next = current.clone();
    let mut kinds = Vec::new();

    let snooze_until = match (patch.status, patch.snoozed_until) {
        (Some(ConversationStatus::Snoozed), Some(Some(until))) | (None, Some(Some(until))) => {
            Some(until)
        }
        (Some(ConversationStatus::Snoozed), _) => {
            return Err(ServiceError::Invalid(
                "snoozing needs `snoozed_until`".into(),
            ));
        }
        (Some(_), Some(Some(_))) => {
            return Err(ServiceError::Invalid(
                "`snoozed_until` goes with status `snoozed`".into(),
            ));
        }
        _ => None,
    };
    let status = if snooze_until.is_some() {
        Some(ConversationStatus::Snoozed)
    } else {
        patch.status
    };
    if let Some(until) = snooze_until {
        if until <= now {
            return Err(ServiceError::Invalid(
                "`snoozed_until` must be in the future".into(),
            ));
        }
        if next.snoozed_until != Some(until) {
            next.snoozed_until = Some(until);
            kinds.push(EventKind::Snoozed { until });
        }
    }
    if let Some(status) = status.filter(|s| *s != current.status) {
        kinds.push(EventKind::StatusChanged {
            from: current.status,
            to: status,
        });
        next.status = status;
        if status != ConversationStatus::Snoozed {
            next.snoozed_until = None;
        }
        next.resolved_at = (status == ConversationStatus::Resolved).then_some(now);
    }
    if let Some(priority) = patch.priority.filter(|p| *p != current.priority) {
        kinds.push(EventKind::PriorityChanged {
            from: current.priority,
            to: priority,
        });
        next.priority = priority;
    }
    if let Some(assignee) = patch.assignee_id.filter(|a| *a != current.assignee_id) {
        kinds.push(EventKind::Assigned {
            from: current.assignee_id,
            to: assignee,
        });
        next.assignee_id = assignee;
    }
    if let Some(team) = patch.team_id.filter(|t| *t != current.team_id) {
        kinds.push(EventKind::TeamChanged {
            from: current.team_id,
            to: team,
        });
        next.team_id = team;
    }
    if let Some(tags) = tags.filter(|t| *t != current.tags) {
        let added = tags
            .iter()
            .filter(|t| !current.tags.contains(t))
            .cloned()
            .collect();
        let removed = current
            .tags
            .iter()
            .filter(|t| !tags.contains(t))
            .cloned()
            .collect();
        kinds.push(EventKind::TagsChanged { added, removed });
        next.tags = tags;
    }
    if !kinds.is_empty() {
        next.updated_at = now;
    }
    let events = kinds
        .into_iter()
        .map(|kind| Event::new(current.id, kind, Some(actor), now))
        .collect();
    Ok((next, events))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Channel, ContactId};

    fn conversation() -> Conversation {
        let now = Utc::now();
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
            created_at: now,
            updated_at: now,
            last_inbound_at: Some(now),
            resolved_at: None,
            version: 1,
        }
    }

    #[test]
    fn resolving_records_when_and_an_event() {
        let patch = ConversationPatch {
            status: Some(ConversationStatus::Resolved),
            ..Default::default()
        };
        let (next, events) =
            apply_patch(&conversation(), &patch, None, AgentId::new(), Utc::now()).unwrap();
        assert_eq!(next.status, ConversationStatus::Resolved);
        assert!(next.resolved_at.is_some());
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn snoozing_needs_a_future_time() {
        let now = Utc::now();
        let snooze = |until| ConversationPatch {
            snoozed_until: Some(Some(until)),
            ..Default::default()
        };
        let (next, _) = apply_patch(
            &conversation(),
            &snooze(now + chrono::Duration::hours(2)),
            None,
            AgentId::new(),
            now,
        )
        .unwrap();
        assert_eq!(next.status, ConversationStatus::Snoozed);
        assert!(
            apply_patch(
                &conversation(),
                &snooze(now - chrono::Duration::hours(2)),
                None,
                AgentId::new(),
                now
            )
            .is_err()
        );
        let bare = ConversationPatch {
            status: Some(ConversationStatus::Snoozed),
            ..Default::default()
        };
        assert!(apply_patch(&conversation(), &bare, None, AgentId::new(), now).is_err());
    }

    #[test]
    fn an_empty_patch_changes_nothing() {
        let (_, events) = apply_patch(
            &conversation(),
            &ConversationPatch::default(),
            None,
            AgentId::new(),
            Utc::now(),
        )
        .unwrap();
        assert!(events.is_empty());
    }
}
