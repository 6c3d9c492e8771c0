//! The keeper, a subscriber of the event log, asks for a rating when a conversation is
//! resolved: at most once per resolution, never on a team switched off, never on a
//! channel the customer blocked, and never to a contact asked within the quiet days.

use crate::model::{
    Change, ChangeType, Channel, Conversation, ConversationStatus, Direction, Event, EventKind,
    Survey, SurveySettings,
};
use crate::ports::{
    ContactStore, ConversationStore, Enqueue, PortError, PortResult, Queue, QueueName, SurveyStore,
};
use crate::services::error::ServiceResult;
use crate::services::recipient::{address_kind, reply_address};
use crate::services::send::{OutboundJob, SurveyRef};
use crate::services::subscriber::Subscriber;
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;

#[derive(Clone)]
pub struct SurveyKeeper {
    pub conversations: Arc<dyn ConversationStore>,
    pub contacts: Arc<dyn ContactStore>,
    pub surveys: Arc<dyn SurveyStore>,
    pub queue: Arc<dyn Queue>,
    /// Made here before the first survey opens, so the pages that only check tokens
    /// find it.
    pub key: super::SurveyKey,
}

#[async_trait]
impl Subscriber for SurveyKeeper {
    fn name(&self) -> &'static str {
        "surveys"
    }

    async fn handle(&self, changes: &[Change]) -> ServiceResult<()> {
        let mut settings = None;
        for change in changes {
            if change.kind != ChangeType::ConversationStatusChanged {
                continue;
            }
            let (Some(id), Some(event_id)) = (change.conversation_id, change.event_id) else {
                continue;
            };
            let resolved = matches!(
                self.conversations
                    .event(id, event_id)
                    .await?
                    .map(|e| e.kind),
                Some(EventKind::StatusChanged {
                    to: ConversationStatus::Resolved,
                    ..
                })
            );
            if !resolved {
                continue;
            }
            let Some(conversation) = self.conversations.conversation(id).await? else {
                continue;
            };
            let settings = match &settings {
                Some(s) => s,
                None => settings.insert(self.surveys.survey_settings().await?),
            };
            self.ask(&conversation, settings, Utc::now()).await?;
        }
        Ok(())
    }
}

/// Latest messages read to find where the customer last wrote from.
const LATEST_READ: usize = 20;

impl SurveyKeeper {
    /// Sends the survey about the conversation's current resolution, if it is owed one.
    pub async fn ask(
        &self,
        conversation: &Conversation,
        settings: &SurveySettings,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let id = conversation.id;
        let Some(resolved_at) = conversation
            .resolved_at
            .filter(|_| conversation.status == ConversationStatus::Resolved)
        else {
            // Reopened before the survey could go: it is about nothing any more.
            return Ok(false);
        };
        if !settings.surveys(conversation.team_id) {
            return Ok(false);
        }
        let channel = conversation.channel;
        if channel == Channel::Voice {
            return Ok(false);
        }
        let Some(contact) = self.contacts.contact(conversation.contact_id).await? else {
            return Ok(false);
        };
        if contact.blocked_channels.contains(&channel) {
            tracing::info!(conversation_id = %id, channel = channel.as_str(), "no survey: the customer blocked the channel");
            return Ok(false);
        }
        let previous = self.surveys.survey(id).await?;
        // Opened before (a batch handed over again): at most one survey per resolution,
        // so one whose job was lost on its way to the queue is not asked again either.
        if previous
            .as_ref()
            .is_some_and(|p| p.resolved_at == resolved_at)
        {
            return Ok(false);
        }
        let to = match address_kind(channel) {
            None => None,
            Some(kind) => {
                let latest = self.conversations.latest_messages(id, LATEST_READ).await?;
                let answered = latest
                    .iter()
                    .find(|m| m.direction == Direction::Inbound && m.channel == channel);
                match reply_address(kind, answered, &contact) {
                    Some(to) => Some(to),
                    None => {
                        tracing::info!(conversation_id = %id, channel = channel.as_str(), "no survey: no address to send it to");
                        return Ok(false);
                    }
                }
            }
        };
        let number = previous.as_ref().map_or(1, |p| p.number + 1);
        let survey = Survey {
            conversation_id: id,
            contact_id: contact.id,
            number,
            channel,
            resolved_at,
            sent_at: now,
            team_id: conversation.team_id,
            agent_id: conversation.assignee_id,
            waits_on: to
                .as_ref()
                .filter(|_| channel == Channel::Sms)
                .map(|to| to.key()),
            to,
            answer: None,
            version: 0,
        };
        self.key.tokens().await?;
        let event = Event::new(id, EventKind::SurveySent { number, channel }, None, now);
        let quiet_since = now - TimeDelta::days(i64::from(settings.quiet_days));
        let opened = self
            .surveys
            .open_survey(
                &survey,
                previous.as_ref().map(|p| p.version),
                quiet_since,
                &event,
            )
            .await?;
        if !opened {
            tracing::info!(conversation_id = %id, "no survey: sent already, or the contact was asked lately");
            return Ok(false);
        }
        self.queue_job(&survey).await?;
        tracing::info!(conversation_id = %id, number, channel = channel.as_str(), "survey sent");
        Ok(true)
    }

    /// Puts the survey on the sender's queue, once per survey; the customer page needs
    /// none.
    async fn queue_job(&self, survey: &Survey) -> PortResult<()> {
        if survey.channel == Channel::Web {
            return Ok(());
        }
        let (id, number) = (survey.conversation_id, survey.number);
        let body = serde_json::to_vec(&OutboundJob::Survey {
            survey: SurveyRef {
                conversation_id: id,
                number,
            },
        })
        .map_err(|e| PortError::Internal(e.to_string()))?;
        let job = Enqueue {
            body,
            group: id.to_string(),
            dedup: format!("survey:{id}:{number}"),
        };
        self.queue.send(QueueName::Outbound, vec![job]).await
    }
}
