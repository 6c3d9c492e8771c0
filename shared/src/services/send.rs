//! Delivering queued replies through each channel's sender, and recording the outcome.

use super::incidents::{IncidentJob, IncidentWorker, UpdateRef};
use super::page_link::{PageNotices, link_hash, notice_text, submission_id, token_of};
use super::proof::Notice;
use super::worker::{Handled, backoff};
use crate::model::Reachability;
use crate::model::{Channel, DeliveryStatus, Identity, IdentityKind, Message, MessageId};
use crate::ports::MAX_DELIVERIES;
use crate::ports::{
    BlobStore, ChannelSender, ContactStore, ConversationStore, Delivery, Enqueue, MessageStore,
    OutboundDelivery, OutboundFile, PortError, PortResult, Queue, QueueName, RoutingStore,
    SendError,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// The body of an outbound queue message: a stored reply, or a notice for one customer
/// that no conversation keeps (the secret proving an address).
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OutboundJob {
    Reply {
        message_id: MessageId,
        /// The incident update it carries: its outcome is counted there.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        update: Option<UpdateRef>,
    },
    Notice {
        notice: Notice,
    },
    /// A satisfaction survey, asked on the channel it was opened for.
    Survey {
        survey: SurveyRef,
    },
    /// A page of an incident's work: linking, or writing an update everywhere.
    Incident {
        job: IncidentJob,
    },
}

/// A survey by its conversation and number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyRef {
    pub conversation_id: crate::model::ConversationId,
    pub number: u32,
}

/// Puts a notice on the outbound queue.
pub async fn queue_notice(queue: &dyn Queue, notice: &Notice) -> PortResult<()> {
    let body = serde_json::to_vec(&OutboundJob::Notice {
        notice: notice.clone(),
    })
    .map_err(|e| PortError::Internal(e.to_string()))?;
    let job = Enqueue {
        body,
        group: notice.conversation_id.to_string(),
        dedup: crate::model::next_ulid().to_string(),
    };
    queue.send(QueueName::Outbound, vec![job]).await
}

/// Stores a reply as queued and puts it on the outbound queue; if it cannot be queued
/// it is marked failed, so it never sits as `queued` forever.
pub async fn queue_reply(
    messages: &dyn MessageStore,
    queue: &dyn Queue,
    message: &crate::model::Message,
) -> PortResult<()> {
    messages.add_outbound(message).await?;
    queue_stored_reply(messages, queue, message).await
}

/// Puts a reply already stored as queued on the outbound queue; if it cannot be queued
/// it is marked failed, so it never sits as `queued` forever.
pub async fn queue_stored_reply(
    messages: &dyn MessageStore,
    queue: &dyn Queue,
    message: &crate::model::Message,
) -> PortResult<()> {
    let body = serde_json::to_vec(&OutboundJob::Reply {
        message_id: message.id,
        update: None,
    })
    .map_err(|e| PortError::Internal(e.to_string()))?;
    let job = Enqueue {
        body,
        group: message.conversation_id.to_string(),
        dedup: message.id.to_string(),
    };
    if let Err(e) = queue.send(QueueName::Outbound, vec![job]).await {
        let reason = format!("could not be queued: {e}");
        messages
            .set_delivery_status(message.id, DeliveryStatus::Failed, Some(&reason), None)
            .await?;
        return Err(e);
    }
    Ok(())
}

/// Longer than any provider call may take (their clients give up after 60 s).
const SEND_TIME: std::time::Duration = std::time::Duration::from_secs(120);

/// Times a reply's status is written before its job is handed back to the queue.
const RECORD_ATTEMPTS: u32 = 4;

/// Why a reply found still `sending` when its job comes again is failed.
const INTERRUPTED: &str = "sending was interrupted (the sender stopped); it may have reached the customer, so it is not sent again: send it again if it did not";

#[derive(Clone)]
pub struct Sender {
    pub messages: Arc<dyn MessageStore>,
    pub conversations: Arc<dyn ConversationStore>,
    pub contacts: Arc<dyn ContactStore>,
    /// Records that a customer blocked us, when a provider says so on a send.
    pub routing: Arc<dyn RoutingStore>,
    /// Where the files agents attach wait to be sent.
    pub blobs: Arc<dyn BlobStore>,
    pub channels: Arc<HashMap<Channel, Arc<dyn ChannelSender>>>,
    /// When set, a reply on a customer page also goes by email or SMS to what the
    /// customer typed on the submission that started it.
    pub page_notices: Option<PageNotices>,
    /// The surveys it asks, and where their pages are (none goes by email without it).
    pub surveys: crate::services::surveys::Surveys,
    pub survey_pages: crate::services::surveys::SurveyPages,
    /// Runs incident jobs, and counts the outcome of each update's replies.
    pub incidents: IncidentWorker,
}

use super::recipient::address_kind;

impl Sender {
    /// Surveys are asked in the pages' language, and an email's links lead to `pages`.
    pub fn with_survey_pages(self, pages: crate::services::surveys::SurveyPages) -> Self {
        Self {
            survey_pages: pages,
            ..self
        }
    }

    /// Replies on customer pages also go by email or SMS, when `notices` is set and the
    /// installation sends on either: never otherwise.
    pub fn with_page_notices(self, notices: Option<PageNotices>) -> Self {
        let sends = [Channel::Email, Channel::Sms]
            .iter()
            .any(|c| self.channels.contains_key(c));
        Self {
            page_notices: notices.filter(|_| sends),
            ..self
        }
    }

    pub async fn handle(&self, delivery: Delivery) -> Handled {
        let job: OutboundJob = match serde_json::from_slice(&delivery.body) {
            Ok(job) => job,
            Err(e) => {
                return Handled::Retry {
                    after: backoff(delivery.receive_count),
                    reason: format!("undecodable: {e}"),
                };
            }
        };
        let (message_id, update) = match job {
            OutboundJob::Reply { message_id, update } => (message_id, update),
            OutboundJob::Notice { notice } => {
                return self.deliver_notice(&notice, delivery.receive_count).await;
            }
            OutboundJob::Survey { survey } => {
                return match self.deliver_survey(survey, delivery.receive_count).await {
                    Ok(handled) => handled,
                    Err(e) => Handled::Retry {
                        after: backoff(delivery.receive_count),
                        reason: e.to_string(),
                    },
                };
            }
            OutboundJob::Incident { job } => {
                return match self.incidents.run(&job).await {
                    Ok(()) => Handled::Done,
                    Err(e) => {
                        tracing::warn!(error = %e, "incident work will be retried");
                        Handled::Retry {
                            after: backoff(delivery.receive_count),
                            reason: e.to_string(),
                        }
                    }
                };
            }
        };
        let delivered = match self.deliver(message_id, delivery.receive_count).await {
            Ok(Handled::Done) => match update {
                Some(update) => self.settle(update, message_id).await,
                None => Ok(Handled::Done),
            },
            other => other,
        };
        match delivered {
            Ok(handled) => handled,
            Err(e) => {
                tracing::warn!(%message_id, error = %e, "delivery will be retried");
                Handled::Retry {
                    after: backoff(delivery.receive_count),
                    reason: e.to_string(),
                }
            }
        }
    }

    /// Counts a delivered (or refused) incident update's reply on the update.
    async fn settle(&self, update: UpdateRef, id: MessageId) -> PortResult<Handled> {
        if let Some(message) = self.messages.message(id).await? {
            self.incidents.settle(update, &message).await?;
        }
        Ok(Handled::Done)
    }

    async fn deliver(&self, id: MessageId, attempt: u32) -> PortResult<Handled> {
        let Some(message) = self.messages.message(id).await? else {
            tracing::warn!(message_id = %id, "queued reply no longer exists");
            return Ok(Handled::Done);
        };
        match message.delivery_status {
            DeliveryStatus::Queued => {}
            // Another attempt has it now (a copy of this job): look again once any send
            // has had its time.
            DeliveryStatus::Sending if attempt <= 1 => {
                return Ok(Handled::Retry {
                    after: SEND_TIME,
                    reason: "another attempt is sending it".into(),
                });
            }
            // This job was handed out before and that attempt stopped while the provider
            // had the reply: it may have reached the customer, and it must never reach
            // them twice.
            DeliveryStatus::Sending => {
                tracing::warn!(message_id = %id, "a send was interrupted; the reply is failed, not sent again");
                return self.fail(id, INTERRUPTED).await;
            }
            _ => return Ok(Handled::Done),
        }
        let Some(conversation) = self
            .conversations
            .conversation(message.conversation_id)
            .await?
        else {
            return self.fail(id, "the conversation no longer exists").await;
        };
        let Some(sender) = self.channels.get(&message.channel).cloned() else {
            return self
                .fail(
                    id,
                    &format!("the {} channel is not configured", message.channel.as_str()),
                )
                .await;
        };
        let answering = match message.reply_to {
            Some(answered) => self.messages.message(answered).await?,
            None => None,
        };
        let recipient = match address_kind(message.channel) {
            None => None,
            Some(kind) => match self
                .recipient(&conversation, message.channel, kind, answering.as_ref())
                .await?
            {
                Recipient::Found(identity) => Some(identity),
                Recipient::Missing => {
                    return self
                        .fail(
                            id,
                            &format!(
                                "the customer has no {} address they proved or wrote from",
                                kind.as_str()
                            ),
                        )
                        .await;
                }
                Recipient::Blocked => {
                    return self
                        .fail(
                            id,
                            &format!(
                                "the customer blocked us on {}; they will not get it",
                                message.channel.as_str()
                            ),
                        )
                        .await;
                }
            },
        };
        let files = match self.files(&message).await? {
            Ok(files) => files,
            Err(reason) => return self.fail(id, &reason).await,
        };
        let reply_channel = message.channel;
        // A bot's answer carries its two buttons where the channel shows buttons.
        let choices = match message.channel {
            Channel::Telegram => {
                super::answer_first::choices_for(&message, &self.survey_pages.language)
            }
            _ => Vec::new(),
        };
        let reply = OutboundDelivery {
            message,
            conversation,
            recipient,
            answering,
            files,
            choices,
        };
        // A reply on a customer page goes out as an email or SMS when it can, and its
        // status follows that send; else the page alone shows it.
        let (sender, outbound) = match self.page_notice(&reply).await? {
            Some(notice) => notice,
            None => (sender, reply),
        };
        // A notice that fails leaves the reply on the page: say so beside why.
        let failed = |reason: &str| match outbound.message.channel != reply_channel {
            true => format!(
                "shown on the customer page; the {} to what they typed failed: {reason}",
                outbound.message.channel.as_str()
            ),
            false => reason.to_owned(),
        };
        sender.wait_turn(&outbound).await;
        if !self.messages.claim_send(id).await? {
            return Ok(Handled::Done);
        }
        match sender.send(&outbound).await {
            Ok(sent) => {
                let status = if sent.delivered {
                    DeliveryStatus::Delivered
                } else {
                    DeliveryStatus::Sent
                };
                self.record(id, status, None, sent.provider_id.as_deref())
                    .await?;
                tracing::info!(message_id = %id, conversation_id = %outbound.conversation.id, status = status.as_str(), "reply delivered");
                Ok(Handled::Done)
            }
            Err(SendError::Permanent { reason }) => self.fail(id, &failed(&reason)).await,
            Err(SendError::Unreachable { reason }) => {
                // The reply's fate first: a retry of the job would find it sending.
                let handled = self.fail(id, &failed(&reason)).await?;
                if let Err(e) = self.mark_blocked(&outbound).await {
                    tracing::warn!(message_id = %id, error = %e, "the customer's block could not be recorded; the next send will find it");
                }
                Ok(handled)
            }
            Err(SendError::Retryable { reason, .. }) if attempt >= MAX_DELIVERIES => {
                let reason = format!("gave up after {attempt} attempts: {reason}");
                self.fail(id, &failed(&reason)).await
            }
            Err(SendError::Retryable {
                reason,
                retry_after,
            }) => {
                // Not taken: it waits again, and the next attempt claims it afresh.
                self.record(id, DeliveryStatus::Queued, None, None).await?;
                tracing::warn!(message_id = %id, %reason, attempt, "delivery will be retried");
                Ok(Handled::Retry {
                    after: retry_after.unwrap_or_else(|| backoff(attempt)),
                    reason,
                })
            }
        }
    }

    /// Asks a survey on its channel, while it still waits for an answer; its outcome is
    /// only logged (the `survey_sent` event is on the timeline already).
    async fn deliver_survey(&self, asked: SurveyRef, attempt: u32) -> PortResult<Handled> {
        let id = asked.conversation_id;
        let Some(survey) = self.surveys.store.survey(id).await? else {
            return Ok(Handled::Done);
        };
        if survey.number != asked.number || !survey.open_at(Utc::now()) {
            return Ok(Handled::Done);
        }
        let Some(conversation) = self.conversations.conversation(id).await? else {
            return Ok(Handled::Done);
        };
        let Some(sender) = self.channels.get(&survey.channel).cloned() else {
            tracing::warn!(conversation_id = %id, channel = survey.channel.as_str(), "survey on a channel that is not configured; dropped");
            return Ok(Handled::Done);
        };
        let pages = &self.survey_pages;
        if survey.channel == Channel::Email && pages.base_url.is_empty() {
            tracing::warn!(conversation_id = %id, "survey by email with no public URL for its links; dropped");
            return Ok(Handled::Done);
        }
        let tokens = self.surveys.key.tokens().await?.ok_or_else(|| {
            crate::ports::PortError::Internal("the sender could not make the survey key".into())
        })?;
        let links = crate::services::surveys::SurveyLinks {
            tokens,
            base_url: pages.base_url.clone(),
            language: pages.language.clone(),
        };
        let (text, choices) = crate::services::surveys::survey_message(&links, &survey);
        let outbound = OutboundDelivery {
            message: Message::outbound(
                id,
                conversation.contact_id,
                survey.channel,
                crate::model::Author::System,
                &text,
            ),
            conversation,
            recipient: survey.to.clone(),
            answering: None,
            files: Vec::new(),
            choices,
        };
        match sender.send(&outbound).await {
            Ok(_) => {
                tracing::info!(conversation_id = %id, number = survey.number, channel = survey.channel.as_str(), "survey delivered");
                Ok(Handled::Done)
            }
            Err(SendError::Retryable {
                reason,
                retry_after,
            }) if attempt < MAX_DELIVERIES => Ok(Handled::Retry {
                after: retry_after.unwrap_or_else(|| backoff(attempt)),
                reason,
            }),
            Err(SendError::Unreachable { reason }) => {
                self.mark_blocked(&outbound).await?;
                tracing::warn!(conversation_id = %id, %reason, "survey not delivered: the customer blocked us");
                Ok(Handled::Done)
            }
            Err(e) => {
                tracing::warn!(conversation_id = %id, error = %e, "survey not delivered");
                Ok(Handled::Done)
            }
        }
    }

    /// Sends a notice once; its outcome is only logged (nothing keeps it). The address
    /// and the text never reach the log: the text carries a secret.
    async fn deliver_notice(&self, notice: &Notice, attempt: u32) -> Handled {
        let conversation_id = notice.conversation_id;
        let conversation = match self.conversations.conversation(conversation_id).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                tracing::warn!(%conversation_id, "notice for a conversation that is gone; dropped");
                return Handled::Done;
            }
            Err(e) => {
                return Handled::Retry {
                    after: backoff(attempt),
                    reason: e.to_string(),
                };
            }
        };
        let Some(sender) = self.channels.get(&notice.channel).cloned() else {
            tracing::warn!(%conversation_id, channel = notice.channel.as_str(), "notice on a channel that is not configured; dropped");
            return Handled::Done;
        };
        let outbound = OutboundDelivery {
            message: Message::outbound(
                conversation.id,
                conversation.contact_id,
                notice.channel,
                crate::model::Author::System,
                &notice.text,
            ),
            conversation,
            recipient: Some(notice.to.clone()),
            answering: None,
            files: Vec::new(),
            choices: Vec::new(),
        };
        match sender.send(&outbound).await {
            Ok(_) => {
                tracing::info!(%conversation_id, channel = notice.channel.as_str(), "notice sent");
                Handled::Done
            }
            Err(SendError::Retryable {
                reason,
                retry_after,
            }) if attempt < MAX_DELIVERIES => Handled::Retry {
                after: retry_after.unwrap_or_else(|| backoff(attempt)),
                reason,
            },
            Err(e) => {
                tracing::warn!(%conversation_id, error = %e, "notice not sent");
                Handled::Done
            }
        }
    }

    /// The email or SMS that carries `reply`, a reply on a customer page, to the address
    /// of that kind typed on the submission that started the page (email first), with
    /// the page's link: none without [`Self::page_notices`], a sender for either, such an
    /// address, or when the customer blocked us there.
    async fn page_notice(
        &self,
        reply: &OutboundDelivery,
    ) -> PortResult<Option<(Arc<dyn ChannelSender>, OutboundDelivery)>> {
        let Some(notices) = &self.page_notices else {
            return Ok(None);
        };
        if reply.message.channel != Channel::Web {
            return Ok(None);
        }
        let Some(submission) = self.page_submission(reply.conversation.id).await? else {
            return Ok(None);
        };
        let Some(contact) = self.contacts.contact(reply.conversation.contact_id).await? else {
            return Ok(None);
        };
        for (channel, kind) in [
            (Channel::Email, IdentityKind::Email),
            (Channel::Sms, IdentityKind::Phone),
        ] {
            let Some(sender) = self.channels.get(&channel) else {
                continue;
            };
            let Some(to) = submission.sent_from.iter().find(|i| i.kind == kind) else {
                continue;
            };
            if contact.blocked_channels.contains(&channel) {
                continue;
            }
            // A page whose secret was random (handed out before links were derived)
            // cannot be written again: the notice then carries the reply alone.
            let url = match notices.links.page_url(&notices.base_url, &submission) {
                Some(url) => {
                    let opens = self
                        .conversations
                        .conversation_for_link(&link_hash(token_of(&url)))
                        .await?;
                    (opens == Some(reply.conversation.id)).then_some(url)
                }
                None => None,
            };
            let message = Message {
                channel,
                text: notice_text(&notices.language, &reply.message.text, url.as_deref()),
                ..reply.message.clone()
            };
            let files = match sender.sends_files() {
                true => reply.files.clone(),
                false => Vec::new(),
            };
            let notice = OutboundDelivery {
                message,
                conversation: reply.conversation.clone(),
                recipient: Some(to.clone()),
                answering: Some(submission),
                files,
                choices: Vec::new(),
            };
            return Ok(Some((sender.clone(), notice)));
        }
        Ok(None)
    }

    /// The web-form submission that started a customer page: the first such message in
    /// its timeline (a page's conversation starts with it and is never folded).
    async fn page_submission(
        &self,
        id: crate::model::ConversationId,
    ) -> PortResult<Option<Message>> {
        let first = self
            .conversations
            .timeline(id, &crate::ports::PageRequest::first(20))
            .await?;
        Ok(first.items.into_iter().find_map(|item| match item {
            crate::model::TimelineItem::Message(m)
                if m.source_id.as_ref().and_then(submission_id).is_some() =>
            {
                Some(m)
            }
            _ => None,
        }))
    }

    /// The bytes of the reply's attachments; `Err` when one is gone for good.
    async fn files(&self, message: &Message) -> PortResult<Result<Vec<OutboundFile>, String>> {
        let mut files = Vec::with_capacity(message.attachments.len());
        for a in &message.attachments {
            let Some(blob) = self.blobs.get(&a.blob_key).await? else {
                return Ok(Err(format!(
                    "the attachment {} is missing from storage",
                    a.filename.as_deref().unwrap_or("(unnamed)")
                )));
            };
            files.push(OutboundFile {
                filename: a.filename.clone().unwrap_or_else(|| "attachment".into()),
                content_type: a.content_type.clone(),
                bytes: blob.bytes,
            });
        }
        Ok(Ok(files))
    }

    /// The provider says the customer blocked us: mark the contact (with its timeline
    /// event) before failing the reply, so an error here retries the whole delivery
    /// rather than losing the mark.
    async fn mark_blocked(&self, outbound: &OutboundDelivery) -> PortResult<()> {
        let Some(recipient) = &outbound.recipient else {
            return Ok(());
        };
        let channel = outbound.message.channel;
        let contact = self
            .routing
            .set_reachability(recipient, channel, Reachability::Blocked, Utc::now())
            .await?;
        tracing::info!(message_id = %outbound.message.id, contact_id = ?contact, channel = channel.as_str(), "the customer blocked us; contact marked");
        Ok(())
    }

    async fn fail(&self, id: MessageId, reason: &str) -> PortResult<Handled> {
        tracing::warn!(message_id = %id, reason, "reply failed");
        self.record(id, DeliveryStatus::Failed, Some(reason), None)
            .await?;
        Ok(Handled::Done)
    }

    /// Records a reply's status, trying a few times in place: once the provider has
    /// answered, a job handed over again would find the reply `sending` and fail it.
    async fn record(
        &self,
        id: MessageId,
        status: DeliveryStatus,
        error: Option<&str>,
        provider_id: Option<&str>,
    ) -> PortResult<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .messages
                .set_delivery_status(id, status, error, provider_id)
                .await
            {
                Err(PortError::Unavailable(reason)) if attempt < RECORD_ATTEMPTS => {
                    tracing::warn!(message_id = %id, %reason, "recording the reply's status; trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// Where the reply goes, by [`reply_address`](super::recipient::reply_address).
    async fn recipient(
        &self,
        conversation: &crate::model::Conversation,
        channel: Channel,
        kind: IdentityKind,
        answering: Option<&Message>,
    ) -> PortResult<Recipient> {
        let Some(contact) = self.contacts.contact(conversation.contact_id).await? else {
            return Ok(Recipient::Missing);
        };
        if contact.blocked_channels.contains(&channel) {
            return Ok(Recipient::Blocked);
        }
        Ok(super::recipient::reply_address(kind, answering, &contact)
            .map_or(Recipient::Missing, Recipient::Found))
    }
}

enum Recipient {
    Found(Identity),
    Missing,
    /// The customer blocked us on the channel.
    Blocked,
}

/// The customer page shows a reply as soon as it is stored: delivery is immediate.
#[derive(Debug, Default)]
pub struct CustomerPageSender;

#[async_trait::async_trait]
impl ChannelSender for CustomerPageSender {
    fn channel(&self) -> Channel {
        Channel::Web
    }

    /// The page lists a reply's files by name.
    fn sends_files(&self) -> bool {
        true
    }

    async fn send(&self, _: &OutboundDelivery) -> Result<crate::ports::Sent, SendError> {
        Ok(crate::ports::Sent {
            provider_id: None,
            delivered: true,
        })
    }
}
