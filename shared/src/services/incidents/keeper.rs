//! The keeper, a subscriber of the event log, links each customer's message that
//! matches an active incident as it is stored, on every channel, and tells the
//! customer the status text once.

use super::{acknowledge, link_conversation};
use crate::model::{
    Change, ChangeType, ConversationStatus, Direction, Incident, IncidentState, normalize_text,
};
use crate::ports::{
    ConversationStore, IncidentStore, MessageStore, PageRequest, PortResult, Queue,
};
use crate::services::error::ServiceResult;
use crate::services::subscriber::Subscriber;
use async_trait::async_trait;
use std::sync::Arc;

/// Most active incidents matched at once.
const MAX_ACTIVE: u32 = 100;

#[derive(Clone)]
pub struct IncidentKeeper {
    pub store: Arc<dyn IncidentStore>,
    pub conversations: Arc<dyn ConversationStore>,
    pub messages: Arc<dyn MessageStore>,
    pub queue: Arc<dyn Queue>,
}

#[async_trait]
impl Subscriber for IncidentKeeper {
    fn name(&self) -> &'static str {
        "incidents"
    }

    async fn handle(&self, changes: &[Change]) -> ServiceResult<()> {
        let received = changes
            .iter()
            .filter(|c| c.kind == ChangeType::MessageReceived);
        // Read once per batch, and only when a message came.
        let mut active: Option<Vec<Incident>> = None;
        for change in received {
            let Some(message_id) = change.message_id else {
                continue;
            };
            let active = match &active {
                Some(a) => a,
                None => active.insert(self.active().await?),
            };
            if active.is_empty() {
                return Ok(());
            }
            self.take(message_id, active).await?;
        }
        Ok(())
    }
}

impl IncidentKeeper {
    async fn active(&self) -> PortResult<Vec<Incident>> {
        Ok(self
            .store
            .list_incidents(Some(IncidentState::Active), &PageRequest::first(MAX_ACTIVE))
            .await?
            .items)
    }

    async fn take(
        &self,
        message_id: crate::model::MessageId,
        active: &[Incident],
    ) -> PortResult<()> {
        let Some(message) = self.messages.message(message_id).await? else {
            return Ok(());
        };
        if message.direction != Direction::Inbound {
            return Ok(());
        }
        let Some(conversation) = self
            .conversations
            .conversation(message.conversation_id)
            .await?
        else {
            return Ok(());
        };
        if let Some(linked) = conversation.incident_id {
            // Linked before: the customer is told once, whatever they write next.
            if let Some(incident) = active.iter().find(|i| i.id == linked) {
                acknowledge(
                    self.store.as_ref(),
                    self.messages.as_ref(),
                    self.queue.as_ref(),
                    incident,
                    &message,
                )
                .await?;
            }
            return Ok(());
        }
        if conversation.status == ConversationStatus::Resolved {
            return Ok(());
        }
        let text = normalize_text(&message.text);
        let Some(incident) = active.iter().find(|i| {
            i.matching.matches(
                &text,
                message.channel,
                &conversation.tags,
                message.created_at,
            )
        }) else {
            return Ok(());
        };
        if link_conversation(
            self.store.as_ref(),
            self.conversations.as_ref(),
            incident,
            conversation.id,
            None,
        )
        .await?
        .is_some()
        {
            tracing::info!(incident_id = %incident.id, conversation_id = %conversation.id, "conversation linked to the incident");
            acknowledge(
                self.store.as_ref(),
                self.messages.as_ref(),
                self.queue.as_ref(),
                incident,
                &message,
            )
            .await?;
        }
        Ok(())
    }
}
