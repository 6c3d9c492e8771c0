//! What agents do with conversations: read, change, reply, note.

use super::error::{ServiceError, ServiceResult};
use super::recipient::{address_kind, came_from_kind, reply_address};
use super::send::queue_reply;
use crate::model::{
    Agent, AgentId, Attachment, Author, Channel, ContactId, Conversation, ConversationId,
    ConversationRow, ConversationStatus, Direction, Event, EventKind, Message, MessageId, Note,
    NoteId, Priority, TeamId, TimelineItem, Urgency, normalize_tag,
};
use crate::ports::{
    AgentStore, Blob, BlobStore, ContactStore, ConversationFilter, ConversationStore, DuePosition,
    MAX_PAGE_SIZE, MessageStore, OutboundFile, Page, PageRequest, PortError, Queue, SlaStore,
    TeamStore,
};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Longest reply or note, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// Most bytes a reply's files may have together: under every channel's upload limit
/// (Telegram's bots upload documents up to 50 MB, photos up to 10 MB).
pub const MAX_REPLY_FILE_BYTES: u64 = 20 * 1024 * 1024;

/// Most files one reply carries.
pub const MAX_REPLY_FILES: usize = 10;

/// Clocks read at once for a list in due order.
const DUE_BATCH: u32 = 100;

/// Most clocks one page of a list in due order reads before it answers with what it
/// found and a cursor to go on.
const MAX_DUE_READ: usize = 2_000;

/// A list-in-due-order cursor: `<due ms>_<conversation id>`.
fn due_cursor(cursor: &str) -> ServiceResult<DuePosition> {
    let invalid = || ServiceError::Invalid("the cursor is not one this server issued".into());
    let (ms, id) = cursor.split_once('_').ok_or_else(invalid)?;
    let at = ms
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(invalid)?;
    Ok((at, id.parse().map_err(|_| invalid())?))
}

/// Pages of a timeline read to find the message a reply answers.
const MAX_TIMELINE_PAGES: usize = 20;

#[derive(Clone)]
pub struct Inbox {
    pub conversations: Arc<dyn ConversationStore>,
    pub messages: Arc<dyn MessageStore>,
    pub contacts: Arc<dyn ContactStore>,
    pub agents: Arc<dyn AgentStore>,
    pub teams: Arc<dyn TeamStore>,
    pub queue: Arc<dyn Queue>,
    pub blobs: Arc<dyn BlobStore>,
    pub slas: Arc<dyn SlaStore>,
    /// Channels replies can go out on.
    pub reply_channels: Arc<HashSet<Channel>>,
    /// Channels whose replies may carry files.
    pub file_channels: Arc<HashSet<Channel>>,
    /// Most bytes a reply's files may have together.
    pub max_file_bytes: u64,
}

/// What an agent sends to the customer.
#[derive(Clone, Debug, Default)]
pub struct ReplyDraft {
    pub text: String,
    /// Defaults to the channel the customer last wrote on.
    pub channel: Option<Channel>,
    /// The customer's message it answers; by default their latest on the channel.
    pub reply_to: Option<MessageId>,
    /// Files to send with it; the text may then be empty.
    pub files: Vec<OutboundFile>,
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
    /// One page of conversations, each with its contact's name and service level.
    pub async fn list(
        &self,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> ServiceResult<Page<ConversationRow>> {
        let page = self.conversations.list_conversations(filter, page).await?;
        let rows = self.rows(page.items, Utc::now()).await?;
        Ok(Page {
            items: rows,
            next_cursor: page.next_cursor,
        })
    }

    /// One page of the conversations that owe the customer a target, soonest due first
    /// (overdue first of all), through the clocks' index: those `filter` lets through,
    /// and only the breached or due-soon ones when `only` says so. A page may come back
    /// short, with a cursor to go on, when many read do not pass the filter.
    pub async fn list_by_due(
        &self,
        filter: &ConversationFilter,
        only: Option<Urgency>,
        page: &PageRequest,
    ) -> ServiceResult<Page<ConversationRow>> {
        let now = Utc::now();
        let mut after = page.cursor.as_deref().map(due_cursor).transpose()?;
        let mut found = Vec::new();
        let mut read = 0;
        loop {
            let batch = self.slas.slas_by_due(after, DUE_BATCH).await?;
            let ended = batch.len() < DUE_BATCH as usize;
            let conversations = futures::future::try_join_all(
                batch
                    .iter()
                    .map(|sla| self.conversations.conversation(sla.conversation_id)),
            )
            .await?;
            for (sla, conversation) in batch.iter().zip(conversations) {
                let Some(due) = sla.due_at else { continue };
                after = Some((due, sla.conversation_id));
                read += 1;
                // Overdue ones come first: past them, none is breached.
                if only == Some(Urgency::Breached) && due > now {
                    return self.due_page(found, None, now).await;
                }
                let urgency = sla.status(now).urgency(&sla.targets.targets(), now);
                let Some(c) = conversation else { continue };
                if only.is_some_and(|u| u != urgency) || !filter.admits(&c) {
                    continue;
                }
                found.push(c);
                if found.len() == page.limit as usize {
                    return self.due_page(found, after, now).await;
                }
            }
            if ended {
                return self.due_page(found, None, now).await;
            }
            if read >= MAX_DUE_READ {
                return self.due_page(found, after, now).await;
            }
        }
    }

    async fn due_page(
        &self,
        found: Vec<Conversation>,
        after: Option<DuePosition>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Page<ConversationRow>> {
        Ok(Page {
            items: self.rows(found, now).await?,
            next_cursor: after.map(|(at, id)| format!("{}_{id}", at.timestamp_millis())),
        })
    }

    /// Conversations as a list shows them: with their contact's name and service level.
    async fn rows(
        &self,
        conversations: Vec<Conversation>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<ConversationRow>> {
        let mut contact_ids: Vec<ContactId> = conversations.iter().map(|c| c.contact_id).collect();
        contact_ids.sort();
        contact_ids.dedup();
        let (contacts, slas) = futures::future::try_join(
            futures::future::try_join_all(contact_ids.iter().map(|id| self.contacts.contact(*id))),
            futures::future::try_join_all(
                conversations
                    .iter()
                    .map(|c| self.slas.conversation_sla(c.id)),
            ),
        )
        .await?;
        let names: HashMap<ContactId, Option<String>> = contacts
            .into_iter()
            .flatten()
            .map(|c| (c.id, c.name))
            .collect();
        Ok(conversations
            .into_iter()
            .zip(slas)
            .map(|(conversation, sla)| ConversationRow {
                contact_name: names.get(&conversation.contact_id).cloned().flatten(),
                sla: sla.map(|s| s.view(now)),
                conversation,
            })
            .collect())
    }

    /// One conversation as a list shows it.
    pub async fn row(&self, id: ConversationId) -> ServiceResult<ConversationRow> {
        let conversation = self.get(id).await?;
        let mut rows = self.rows(vec![conversation], Utc::now()).await?;
        rows.pop().ok_or(ServiceError::NotFound("conversation"))
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

    /// Folds conversation `from` into `into`, two conversations of one contact (after an
    /// agent merged two contacts, say): one timeline, `from` gone. A conversation with a
    /// customer page keeps only what came through its link, so it is never folded, either
    /// way; nor is one whose reply is still on its way out.
    pub async fn fold(
        &self,
        from: ConversationId,
        into: ConversationId,
        actor: &Agent,
    ) -> ServiceResult<Conversation> {
        if from == into {
            return Err(ServiceError::Invalid(
                "a conversation cannot be folded into itself".into(),
            ));
        }
        for _ in 0..5 {
            let (source, target) = (self.get(from).await?, self.get(into).await?);
            if source.is_customer_page() || target.is_customer_page() {
                return Err(ServiceError::Conflict(
                    "a conversation with a customer page keeps only what came through its \
                     link, and is never folded"
                        .into(),
                ));
            }
            if source.contact_id != target.contact_id {
                return Err(ServiceError::Invalid(
                    "the conversations belong to different contacts: merge the contacts first"
                        .into(),
                ));
            }
            let sending = self
                .conversations
                .latest_messages(from, crate::ports::LATEST_SCAN_ITEMS)
                .await?
                .iter()
                .any(|m| {
                    matches!(
                        m.delivery_status,
                        crate::model::DeliveryStatus::Queued
                            | crate::model::DeliveryStatus::Sending
                    )
                });
            if sending {
                return Err(ServiceError::Conflict(
                    "a reply in this conversation is still being sent; fold it once it is out"
                        .into(),
                ));
            }
            let now = Utc::now();
            let next = target.absorbing(&source, now);
            let event = Event::new(
                into,
                EventKind::ConversationFolded { from },
                Some(actor.id),
                now,
            );
            match self
                .conversations
                .fold_conversation(&source, &next, target.version, &event)
                .await
            {
                Ok(folded) => {
                    tracing::info!(%from, %into, agent_id = %actor.id, "conversations folded");
                    return Ok(folded);
                }
                Err(PortError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict(
            "the conversations are changing too often; try again".into(),
        ))
    }

    /// Stores the reply as queued and hands it to the sender.
    pub async fn reply(
        &self,
        id: ConversationId,
        draft: ReplyDraft,
        actor: &Agent,
    ) -> ServiceResult<Message> {
        let text = if draft.files.is_empty() || !draft.text.trim().is_empty() {
            checked_text(&draft.text)?
        } else {
            String::new()
        };
        let conversation = self.get(id).await?;
        let channel = draft.channel.unwrap_or(conversation.channel);
        if !self.reply_channels.contains(&channel) {
            return Err(ServiceError::Invalid(format!(
                "replies on the {} channel are not configured",
                channel.as_str()
            )));
        }
        self.check_files(&draft.files, channel)?;
        let reply_to = self.answered(id, channel, draft.reply_to).await?;
        if let Some(kind) = address_kind(channel) {
            let contact = self
                .contacts
                .contact(conversation.contact_id)
                .await?
                .ok_or(ServiceError::NotFound("contact"))?;
            let answered = match reply_to {
                Some(m) => self.messages.message(m).await?,
                None => None,
            };
            if reply_address(kind, answered.as_ref(), &contact).is_none() {
                return Err(ServiceError::Invalid(format!(
                    "the customer has no {} address they proved or wrote from in this conversation",
                    kind.as_str()
                )));
            }
        }
        let message_id = MessageId::new();
        let mut attachments = Vec::with_capacity(draft.files.len());
        // The bytes go first: a reply is only queued once all its files are stored.
        for (index, file) in draft.files.into_iter().enumerate() {
            let blob_key = format!("replies/{message_id}/{index}");
            let size = file.bytes.len() as u64;
            let blob = Blob {
                content_type: file.content_type.clone(),
                bytes: file.bytes,
            };
            self.blobs.put(&blob_key, blob).await?;
            attachments.push(Attachment {
                blob_key,
                filename: Some(file.filename),
                content_type: file.content_type,
                size,
                provider_ref: None,
                fetch_error: None,
            });
        }
        let message = Message {
            id: message_id,
            attachments,
            reply_to,
            ..Message::outbound(
                id,
                conversation.contact_id,
                channel,
                Author::Agent { agent_id: actor.id },
                &text,
            )
        };
        queue_reply(self.messages.as_ref(), self.queue.as_ref(), &message).await?;
        tracing::info!(message_id = %message.id, conversation_id = %id, channel = channel.as_str(), "reply queued");
        Ok(message)
    }

    fn check_files(&self, files: &[OutboundFile], channel: Channel) -> ServiceResult<()> {
        if files.is_empty() {
            return Ok(());
        }
        if !self.file_channels.contains(&channel) {
            return Err(ServiceError::Invalid(format!(
                "replies on the {} channel cannot carry files",
                channel.as_str()
            )));
        }
        if files.len() > MAX_REPLY_FILES {
            return Err(ServiceError::Invalid(format!(
                "at most {MAX_REPLY_FILES} files in one reply"
            )));
        }
        if let Some(empty) = files.iter().find(|f| f.bytes.is_empty()) {
            return Err(ServiceError::Invalid(format!(
                "the file {} is empty",
                empty.filename
            )));
        }
        let total: u64 = files.iter().map(|f| f.bytes.len() as u64).sum();
        if total > self.max_file_bytes {
            return Err(too_large(self.max_file_bytes));
        }
        Ok(())
    }

    /// The customer's message a reply answers: the one named, which must be theirs in
    /// this conversation, else their latest on the reply's channel, else their latest
    /// that came from an address of the reply's kind (an email answering a web-form
    /// submission goes to the email typed on it). The channel uses it to thread the
    /// reply (and, in a Telegram group, to find the chat to answer in).
    async fn answered(
        &self,
        id: ConversationId,
        channel: Channel,
        named: Option<MessageId>,
    ) -> ServiceResult<Option<MessageId>> {
        if let Some(named) = named {
            let found = self
                .messages
                .message(named)
                .await?
                .filter(|m| m.conversation_id == id && m.direction == Direction::Inbound);
            return match found {
                Some(m) => Ok(Some(m.id)),
                None => Err(ServiceError::Invalid(
                    "reply_to must name a customer's message in this conversation".into(),
                )),
            };
        }
        // The timeline reads oldest first, so the last match is the latest. A bound on
        // pages keeps a huge conversation from making a reply slow; past it, the latest
        // message seen still answers.
        let mut latest = None;
        let mut latest_from_kind = None;
        let mut page = PageRequest::first(MAX_PAGE_SIZE);
        for _ in 0..MAX_TIMELINE_PAGES {
            let items = self.conversations.timeline(id, &page).await?;
            for item in items.items {
                if let TimelineItem::Message(m) = item
                    && m.direction == Direction::Inbound
                {
                    if m.channel == channel {
                        latest = Some(m.id);
                    } else if let Some(kind) = address_kind(channel)
                        && came_from_kind(&m, kind)
                    {
                        latest_from_kind = Some(m.id);
                    }
                }
            }
            match items.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => break,
            }
        }
        Ok(latest.or(latest_from_kind))
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

    /// A message exactly as it arrived (an email's raw MIME), with the name to save it as.
    pub async fn original(&self, message_id: MessageId) -> ServiceResult<(String, Blob)> {
        let message = self
            .messages
            .message(message_id)
            .await?
            .ok_or(ServiceError::NotFound("message"))?;
        let key = message
            .original
            .ok_or(ServiceError::NotFound("original of this message"))?;
        let mut blob = self
            .blobs
            .get(&key)
            .await?
            .ok_or(ServiceError::NotFound("original of this message"))?;
        let extension = match message.channel {
            // Whatever the relay stored it as (SES leaves no content type), it is MIME.
            Channel::Email => {
                blob.content_type = "message/rfc822".into();
                "eml"
            }
            _ => "bin",
        };
        Ok((format!("{message_id}.{extension}"), blob))
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

/// The error for a reply whose files pass `max_bytes` together.
pub fn too_large(max_bytes: u64) -> ServiceError {
    ServiceError::TooLarge(format!(
        "a reply's files may have at most {} MB together",
        max_bytes / 1024 / 1024
    ))
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
        if status == ConversationStatus::Resolved {
            next.waiting_since = None;
        }
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
            waiting_since: Some(now),
            incident_id: None,
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
        assert_eq!(next.waiting_since, None, "nobody waits on a resolved one");
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
