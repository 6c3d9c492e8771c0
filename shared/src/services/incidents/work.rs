//! The incident's long work, as jobs on the outbound queue: linking the open
//! conversations already there, and writing an update into every linked conversation.
//! Each job does one page and queues the next, so a crash loses at most the page in
//! hand, and that page is done again without doing anything twice: an update's reply
//! in a conversation is recorded with it, in one step, and never written again.

use super::{acknowledge, link_conversation, unlink_conversation};
use crate::model::{
    Author, Channel, ConversationId, ConversationStatus, DeliveryStatus, Direction, Event,
    Incident, IncidentId, IncidentLink, IncidentState, IncidentUpdate, IncidentUpdateId, Message,
    ResolveScope, normalize_text,
};
use crate::ports::{
    ConversationStore, Enqueue, IncidentStore, MessageStore, PortError, PortResult, Queue,
    QueueName,
};
use crate::services::send::OutboundJob;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Conversations one job handles before it queues the next.
const PAGE: u32 = 50;
/// Latest messages read to find what the customer last wrote.
const LATEST_READ: usize = 20;
/// Without a `since`, declaring links what is open and was written to in this window.
const SCAN_WINDOW: TimeDelta = TimeDelta::hours(24);
/// However early its `since`, declaring links nothing written longer ago than this.
const MAX_SCAN_BACK: TimeDelta = TimeDelta::days(7);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum IncidentJob {
    /// Links the conversations in `status` changed after `after` that match.
    Scan {
        incident_id: IncidentId,
        status: ConversationStatus,
        after: DateTime<Utc>,
        after_id: Option<ConversationId>,
    },
    /// Writes the update into each linked conversation after `after`.
    FanOut {
        incident_id: IncidentId,
        update_id: IncidentUpdateId,
        after: Option<ConversationId>,
    },
}

/// The update a queued reply belongs to: its outcome is counted there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateRef {
    pub incident_id: IncidentId,
    pub update_id: IncidentUpdateId,
}

impl IncidentJob {
    /// The first page of linking what is already open.
    pub fn first_scan(incident: &Incident) -> Self {
        Self::Scan {
            incident_id: incident.id,
            status: ConversationStatus::Open,
            after: scan_from(incident),
            after_id: None,
        }
    }

    fn incident_id(&self) -> IncidentId {
        match self {
            Self::Scan { incident_id, .. } | Self::FanOut { incident_id, .. } => *incident_id,
        }
    }

    /// Names the page, so a page queued twice runs once.
    fn dedup(&self) -> String {
        match self {
            Self::Scan {
                incident_id,
                status,
                after,
                after_id,
            } => format!(
                "incident-scan:{incident_id}:{}:{}:{}",
                status.as_str(),
                after.timestamp_millis(),
                after_id.map(|a| a.to_string()).unwrap_or_default()
            ),
            Self::FanOut {
                update_id, after, ..
            } => format!(
                "incident-update:{update_id}:{}",
                after.map(|a| a.to_string()).unwrap_or_default()
            ),
        }
    }
}

/// Where linking what is open starts: the incident's `since`, but never more than
/// [`MAX_SCAN_BACK`] before it was declared (else the last [`SCAN_WINDOW`]).
fn scan_from(incident: &Incident) -> DateTime<Utc> {
    let earliest = incident.created_at - MAX_SCAN_BACK;
    incident
        .matching
        .since
        .unwrap_or(incident.created_at - SCAN_WINDOW)
        .max(earliest)
}

/// Puts an incident job on the outbound queue; one incident's jobs run in order.
pub async fn queue_job(queue: &dyn Queue, job: &IncidentJob) -> PortResult<()> {
    let body = serde_json::to_vec(&OutboundJob::Incident { job: job.clone() })
        .map_err(|e| PortError::Internal(e.to_string()))?;
    let job = Enqueue {
        body,
        group: job.incident_id().to_string(),
        dedup: job.dedup(),
    };
    queue.send(QueueName::Outbound, vec![job]).await
}

/// Runs incident jobs (the sender hands them over) and counts their replies' outcomes.
#[derive(Clone)]
pub struct IncidentWorker {
    pub store: Arc<dyn IncidentStore>,
    pub conversations: Arc<dyn ConversationStore>,
    pub messages: Arc<dyn MessageStore>,
    pub queue: Arc<dyn Queue>,
}

impl IncidentWorker {
    pub async fn run(&self, job: &IncidentJob) -> PortResult<()> {
        match job {
            IncidentJob::Scan {
                incident_id,
                status,
                after,
                after_id,
            } => self.scan(*incident_id, *status, (*after, *after_id)).await,
            IncidentJob::FanOut {
                incident_id,
                update_id,
                after,
            } => self.fan_out(*incident_id, *update_id, *after).await,
        }
    }

    async fn scan(
        &self,
        incident_id: IncidentId,
        status: ConversationStatus,
        after: (DateTime<Utc>, Option<ConversationId>),
    ) -> PortResult<()> {
        let Some(incident) = self.store.incident(incident_id).await? else {
            return Ok(());
        };
        if !incident.is_active() {
            return Ok(());
        }
        let now = Utc::now();
        let page = self
            .conversations
            .changed_between(status, after, now, PAGE)
            .await?;
        let from = scan_from(&incident);
        for conversation in &page {
            // Linked to another incident still open: it stays there.
            let mine = conversation.incident_id == Some(incident_id);
            if conversation.incident_id.is_some() && !mine {
                let other = conversation.incident_id.map(|o| self.store.incident(o));
                if let Some(other) = other
                    && other
                        .await?
                        .is_some_and(|o| o.state != IncidentState::Resolved)
                {
                    continue;
                }
            }
            let latest = self
                .conversations
                .latest_messages(conversation.id, LATEST_READ)
                .await?;
            let matched = latest.iter().find(|m| {
                m.direction == Direction::Inbound
                    && m.created_at >= from
                    && incident.matching.matches(
                        &normalize_text(&m.text),
                        m.channel,
                        &conversation.tags,
                        m.created_at,
                    )
            });
            let Some(message) = matched else {
                continue;
            };
            // Linked here before (a page handed over again): told, if not yet.
            let linked = mine
                || link_conversation(
                    self.store.as_ref(),
                    self.conversations.as_ref(),
                    &incident,
                    conversation.id,
                    None,
                )
                .await?
                .is_some();
            if linked {
                acknowledge(
                    self.store.as_ref(),
                    self.messages.as_ref(),
                    self.queue.as_ref(),
                    &incident,
                    message,
                )
                .await?;
            }
        }
        let next = match page.last() {
            Some(last) if page.len() == PAGE as usize => Some(IncidentJob::Scan {
                incident_id,
                status,
                after: last.updated_at,
                after_id: Some(last.id),
            }),
            _ => next_status(status).map(|status| IncidentJob::Scan {
                incident_id,
                status,
                after: scan_from(&incident),
                after_id: None,
            }),
        };
        match next {
            Some(job) => queue_job(self.queue.as_ref(), &job).await,
            None => Ok(()),
        }
    }

    async fn fan_out(
        &self,
        incident_id: IncidentId,
        update_id: IncidentUpdateId,
        after: Option<ConversationId>,
    ) -> PortResult<()> {
        let (Some(incident), Some(update)) = (
            self.store.incident(incident_id).await?,
            self.store.update(incident_id, update_id).await?,
        ) else {
            return Ok(());
        };
        if after.is_none() {
            let updates = self.store.updates(incident_id).await?;
            // An update goes out after those before it: while one is still being
            // written, this one waits, and that one starts it when it is done (a job
            // that waited on the queue would end as a dead letter behind a long one).
            let earlier_pending = updates.iter().any(|u| {
                u.id < update_id
                    && !u.progress.fanned_out
                    // One stuck for long (a dead letter) holds nothing back.
                    && Utc::now() - u.created_at < TimeDelta::minutes(10)
            });
            if earlier_pending {
                tracing::info!(%incident_id, %update_id, "update waits for the one before it");
                return Ok(());
            }
            // One final update: a second one posted at the same moment goes nowhere.
            if update.resolves.is_some()
                && updates
                    .iter()
                    .any(|u| u.resolves.is_some() && u.id < update_id)
            {
                tracing::warn!(%incident_id, %update_id, "a second final update is not sent");
                return Ok(());
            }
            if update.resolves.is_some() {
                resolve_incident(self.store.as_ref(), incident_id, update.created_at).await?;
            }
        }
        let links = self
            .store
            .linked_conversations(incident_id, after, PAGE)
            .await?;
        for link in &links {
            self.write_update(&incident, &update, link).await?;
        }
        match links.last() {
            Some(last) if links.len() == PAGE as usize => {
                queue_job(
                    self.queue.as_ref(),
                    &IncidentJob::FanOut {
                        incident_id,
                        update_id,
                        after: Some(last.conversation_id),
                    },
                )
                .await
            }
            _ => {
                self.store.finish_fan_out(incident_id, update_id).await?;
                tracing::info!(%incident_id, %update_id, "incident update written into every linked conversation");
                // The next update waiting for this one goes now.
                let next = self
                    .store
                    .updates(incident_id)
                    .await?
                    .into_iter()
                    .find(|u| u.id > update_id && !u.progress.fanned_out);
                match next {
                    Some(next) => {
                        queue_job(
                            self.queue.as_ref(),
                            &IncidentJob::FanOut {
                                incident_id,
                                update_id: next.id,
                                after: None,
                            },
                        )
                        .await
                    }
                    None => Ok(()),
                }
            }
        }
    }

    /// Writes the update into one linked conversation, once, and queues it to go out;
    /// a final update then resolves or releases the conversation.
    async fn write_update(
        &self,
        incident: &Incident,
        update: &IncidentUpdate,
        link: &IncidentLink,
    ) -> PortResult<()> {
        let id = link.conversation_id;
        let Some(conversation) = self.conversations.conversation(id).await? else {
            return Ok(());
        };
        // It has moved to another incident since (this one ended, it joined a new one):
        // that one answers it now.
        if conversation.incident_id != Some(incident.id) {
            return Ok(());
        }
        let latest = self.conversations.latest_messages(id, LATEST_READ).await?;
        match self.store.update_reply(update.id, id).await? {
            Some(written) => {
                // Written before this page was handed over again: it may not have been
                // queued (the queue drops a second copy of one that was).
                if let Some(message) = self.messages.message(written).await?
                    && message.delivery_status == DeliveryStatus::Queued
                {
                    self.queue_send(&message, update).await?;
                }
            }
            None => {
                let channel = match conversation.channel {
                    // A caller is answered by SMS, at the number they called from.
                    Channel::Voice => Channel::Sms,
                    other => other,
                };
                let answering = latest
                    .iter()
                    .find(|m| m.direction == Direction::Inbound && m.channel == channel);
                let message = Message {
                    reply_to: answering.map(|m| m.id),
                    ..Message::outbound(
                        id,
                        conversation.contact_id,
                        channel,
                        Author::Agent {
                            agent_id: update.author_id,
                        },
                        &update.text,
                    )
                };
                if self.store.add_update_reply(update, &message).await? {
                    self.queue_send(&message, update).await?;
                }
            }
        }
        let Some(scope) = update.resolves else {
            return Ok(());
        };
        let last_said = latest
            .iter()
            .find(|m| m.direction == Direction::Inbound)
            .map(|m| normalize_text(&m.text))
            .unwrap_or_default();
        let about_it = scope == ResolveScope::All
            || incident.matching.concerns(&last_said, &conversation.tags);
        if about_it {
            self.resolve(id, update).await
        } else {
            // The customer asked something beyond the incident: it stays open, with its
            // clocks running again.
            unlink_conversation(
                self.store.as_ref(),
                self.conversations.as_ref(),
                incident.id,
                id,
                Some(update.author_id),
            )
            .await
            .map(|_| ())
        }
    }

    async fn resolve(&self, id: ConversationId, update: &IncidentUpdate) -> PortResult<()> {
        for _ in 0..5 {
            let Some(current) = self.conversations.conversation(id).await? else {
                return Ok(());
            };
            let Some((next, kind)) = current.resolving(Utc::now()) else {
                return Ok(());
            };
            let event = Event::new(id, kind, Some(update.author_id), next.updated_at);
            match self
                .conversations
                .save_conversation(&next, current.version, &[event])
                .await
            {
                Ok(_) => return Ok(()),
                Err(PortError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PortError::Conflict(format!(
            "conversation {id} is changing too often to resolve"
        )))
    }

    async fn queue_send(&self, message: &Message, update: &IncidentUpdate) -> PortResult<()> {
        let body = serde_json::to_vec(&OutboundJob::Reply {
            message_id: message.id,
            update: Some(UpdateRef {
                incident_id: update.incident_id,
                update_id: update.id,
            }),
        })
        .map_err(|e| PortError::Internal(e.to_string()))?;
        let job = Enqueue {
            body,
            group: message.conversation_id.to_string(),
            dedup: message.id.to_string(),
        };
        self.queue.send(QueueName::Outbound, vec![job]).await
    }

    /// Counts how the update's reply in `message`'s conversation ended, once it has.
    pub async fn settle(&self, update: UpdateRef, message: &Message) -> PortResult<()> {
        let sent = match message.delivery_status {
            DeliveryStatus::Sent | DeliveryStatus::Delivered => true,
            DeliveryStatus::Failed => false,
            DeliveryStatus::Queued | DeliveryStatus::Sending | DeliveryStatus::Received => {
                return Ok(());
            }
        };
        self.store
            .settle_update_reply(
                update.incident_id,
                update.update_id,
                message.conversation_id,
                sent,
            )
            .await
            .map(|_| ())
    }
}

fn next_status(status: ConversationStatus) -> Option<ConversationStatus> {
    match status {
        ConversationStatus::Open => Some(ConversationStatus::Pending),
        ConversationStatus::Pending => Some(ConversationStatus::Snoozed),
        ConversationStatus::Snoozed | ConversationStatus::Resolved => None,
    }
}

/// Marks the incident resolved (once): nothing more is linked to it or acknowledged.
pub async fn resolve_incident(
    store: &dyn IncidentStore,
    id: IncidentId,
    at: DateTime<Utc>,
) -> PortResult<()> {
    for _ in 0..5 {
        let Some(incident) = store.incident(id).await? else {
            return Ok(());
        };
        if incident.state == IncidentState::Resolved {
            return Ok(());
        }
        let resolved = Incident {
            state: IncidentState::Resolved,
            resolved_at: Some(at),
            ..incident
        };
        match store.save_incident(&resolved).await {
            Ok(_) => return Ok(()),
            Err(PortError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(PortError::Conflict(format!(
        "incident {id} is changing too often to resolve"
    )))
}
