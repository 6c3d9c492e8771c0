//! The router's handling of one queued inbound message: fetch what it carries, store
//! it once, and queue the automatic answer it asks for.

use super::answerer;
use super::delivery::Applied;
use super::notify::Notifications;
use super::route::{RoutePolicy, RuleCache};
use super::send::queue_reply;
use super::worker::{Handled, backoff};
use crate::model::{
    AgentLinkRequest, Author, CannedReplyId, Channel, ChannelSignal, ConversationId, Event,
    EventKind, Fill, Inbound, InboundMessage, LinkCode, Message, MessageId, ProvenAddress,
    ReportKind, SurveyReply,
};
use crate::model::{Answered, SurveyAnswer, rating_in_text, survey_words};
use crate::ports::{
    AgentMessenger, AgentStore, Blob, BlobStore, ButtonAnswerer, CannedStore, ContactStore,
    ConversationStore, Delivery, FetchError, FileFetcher, MAX_DELIVERIES, MessageStore,
    NoticeStore, PortError, Queue, RouteOutcome, RoutingStore, RuleStore, SlaStore,
};
use chrono::Utc;
use std::collections::HashMap;
use std::sync::Arc;

/// The tag a missed call puts on its conversation, to filter the calls to return.
pub const CALLBACK_TAG: &str = "callback";
/// The tag on a conversation whose email the mail provider judged spam.
pub const SPAM_TAG: &str = "spam";
/// The tag on a conversation whose customer reported one of our replies as spam.
pub const COMPLAINT_TAG: &str = "complaint";

/// Largest attachment fetched (the Telegram Bot API's own download limit).
pub const MAX_ATTACHMENT_BYTES: u64 = 20 * 1024 * 1024;

/// The channels whose messages refer to files still at the provider.
pub type Fetchers = HashMap<Channel, Arc<dyn FileFetcher>>;

#[derive(Clone)]
pub struct InboundRouter {
    pub routing: Arc<dyn RoutingStore>,
    pub messages: Arc<dyn MessageStore>,
    /// Tags conversations a message asks to (a missed call: `callback`).
    pub conversations: Arc<dyn ConversationStore>,
    /// Finds the agent who answered a call (by phone extension or name).
    pub agents: Arc<dyn AgentStore>,
    pub queue: Arc<dyn Queue>,
    pub blobs: Arc<dyn BlobStore>,
    pub fetchers: Arc<Fetchers>,
    pub policy: RoutePolicy,
    /// The routing rules each message runs (with the calendars they ask), read at most
    /// once a second.
    pub rules: Arc<dyn RuleStore>,
    pub calendars: Arc<dyn SlaStore>,
    pub rule_cache: RuleCache,
    /// Checks the reply tokens of email addresses; none: tokens lead nowhere.
    pub reply_tokens: Option<crate::channels::email::ReplyTokens>,
    /// Agents' notification settings: a link code sent to the bot links a chat.
    pub notices: Arc<dyn NoticeStore>,
    /// Answers a link code in the chat that sent it (the Telegram bot), when set.
    pub messenger: Option<Arc<dyn AgentMessenger>>,
    /// The canned replies rules answer with, and the contacts they are filled in for.
    pub canned: Arc<dyn CannedStore>,
    pub contacts: Arc<dyn ContactStore>,
    /// Records the ratings customers give.
    pub surveys: super::surveys::Surveys,
    /// Answers a rating button's press (the Telegram bot), when set.
    pub buttons: Option<Arc<dyn ButtonAnswerer>>,
    /// The language a press is answered in (the customer pages').
    pub language: String,
    /// The bot that answers new questions from the knowledge base first, where it is on.
    pub answer_first: Option<super::answer_first::AnswerFirst>,
    /// Whether a conversation's team lets the bot answer first.
    pub teams: Arc<dyn crate::ports::TeamStore>,
}

impl InboundRouter {
    /// Answers presses and writes the bot's answers in `language`, linking articles at
    /// the help center under `public_url` (none: links relative to the site).
    pub fn speaking(mut self, language: &str, public_url: Option<&str>) -> Self {
        self.language = language.to_owned();
        if let Some(bot) = self.answer_first.as_mut() {
            bot.language = language.to_owned();
            bot.base_url = public_url.unwrap_or_default().to_owned();
        }
        self
    }

    pub async fn handle(&self, delivery: Delivery) -> Handled {
        let inbound: Inbound = match serde_json::from_slice(&delivery.body) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(queue_message = %delivery.id, error = %e, "undecodable inbound message");
                return Handled::Retry {
                    after: backoff(delivery.receive_count),
                    reason: format!("undecodable: {e}"),
                };
            }
        };
        match inbound {
            Inbound::Message(message) => self.route(*message, &delivery).await,
            Inbound::Signal(signal) => self.record_signal(&signal, &delivery).await,
            Inbound::Report(report) => {
                self.record_delivery(&report.delivery_report, &delivery)
                    .await
            }
            Inbound::Proof(proven) => self.record_proof(&proven, &delivery).await,
            Inbound::AgentLink(request) => self.link_agent(&request, &delivery).await,
            Inbound::SurveyAnswer(reply) => self.record_rating(&reply, &delivery).await,
            Inbound::BotAnswerTaken(taken) => self.take_bot_answer(&taken, &delivery).await,
        }
    }

    /// A customer's answer to the bot's article: solved, or a person. Only the
    /// conversation's own customer is heard; a press taken before changes nothing.
    async fn take_bot_answer(
        &self,
        taken: &crate::model::BotAnswerTaken,
        delivery: &Delivery,
    ) -> Handled {
        let Some(bot) = &self.answer_first else {
            return Handled::Done;
        };
        let taken_now = async {
            let Some(conversation) = self.conversations.conversation(taken.conversation_id).await?
            else {
                return Ok(false);
            };
            let theirs = match &taken.by {
                // The page checked the link before it queued the press.
                None => true,
                Some(by) => self
                    .contacts
                    .contact(conversation.contact_id)
                    .await?
                    .is_some_and(|c| c.identities.iter().any(|i| i.proven && i.identity == *by)),
            };
            if !theirs {
                tracing::warn!(conversation_id = %taken.conversation_id, "a bot answer's button pressed by someone else; ignored");
                return Ok(false);
            }
            // Only the buttons of the bot's latest answer, before the customer wrote again.
            let latest = self.conversations.latest_messages(conversation.id, 20).await?;
            if super::answer_first::unanswered_bot_article(&latest) != Some(taken.article_id) {
                return Ok(false);
            }
            bot.take(self.conversations.as_ref(), &conversation, taken.article_id, taken.bot_outcome)
                .await
        }
        .await;
        let changed = match taken_now {
            Ok(changed) => changed,
            Err(e) => {
                return Handled::Retry {
                    after: backoff(delivery.receive_count),
                    reason: e.to_string(),
                };
            }
        };
        tracing::info!(conversation_id = %taken.conversation_id, outcome = ?taken.bot_outcome, changed, "bot answer taken");
        let language = bot.language_of(taken.article_id).await;
        let words = super::answer_first::bot_words(&language);
        let text = match (changed, taken.bot_outcome) {
            (false, _) => words.already,
            (true, crate::model::BotOutcome::Solved) => words.thanks,
            (true, crate::model::BotOutcome::Person) => words.handing_over,
        };
        if let (Some(buttons), Some(press)) = (&self.buttons, &taken.callback_query_id)
            && let Err(e) = buttons.answer_button(press, text).await
        {
            tracing::warn!(error = %e, "a bot answer's button press was not answered");
        }
        Handled::Done
    }

    /// Answers a new conversation's first message from the knowledge base, where the
    /// bot is on and sure of an article; true when it did. Best effort, like every
    /// automatic answer: the message is stored either way.
    async fn answer_first(
        &self,
        message: &InboundMessage,
        id: crate::model::ConversationId,
    ) -> bool {
        let Some(bot) = &self.answer_first else {
            return false;
        };
        if !bot.channels.contains(&message.channel) {
            return false;
        }
        let conversation = match self.conversations.conversation(id).await {
            Ok(Some(c)) => c,
            _ => return false,
        };
        // The team routing chose may have turned the bot off for its conversations.
        if let Some(team) = conversation.team_id {
            match self.teams.team(team).await {
                Ok(Some(team)) if !team.bot_answers_first => return false,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(conversation_id = %id, error = %e, "the team could not be read; no bot answer");
                    return false;
                }
            }
        }
        let hit = match bot.answer_for(message.channel, &message.text).await {
            Ok(Some(hit)) => hit,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(conversation_id = %id, error = %e, "the knowledge base could not be searched; no bot answer");
                return false;
            }
        };
        let answer = bot.message(&conversation, message.channel, &hit);
        if let Err(e) = queue_reply(self.messages.as_ref(), self.queue.as_ref(), &answer).await {
            tracing::error!(conversation_id = %id, error = %e, "the bot's answer was not queued");
            return false;
        }
        if let Err(e) = bot
            .wait_for_customer(self.conversations.as_ref(), id, hit.doc.id)
            .await
        {
            tracing::warn!(conversation_id = %id, error = %e, "the bot answered; the conversation stays open");
        }
        tracing::info!(conversation_id = %id, article_id = %hit.doc.id, "the bot answered first");
        true
    }

    /// Records a rating given with a button, and answers the press with what became of it.
    async fn record_rating(&self, reply: &SurveyReply, delivery: &Delivery) -> Handled {
        let answered = async {
            let Some((id, number)) = self.surveys.verify(&reply.survey_token).await? else {
                return Ok(Answered::Closed);
            };
            let comment = reply.comment.as_deref();
            match SurveyAnswer::new(reply.rating, reply.nps, comment, reply.received_at) {
                Ok(answer) => {
                    let by = reply.by.as_ref();
                    self.surveys.answer(id, number, answer, by).await
                }
                Err(_) => Ok(Answered::Closed),
            }
        }
        .await;
        let answered: Answered = match answered {
            Ok(answered) => answered,
            Err(e) => {
                return Handled::Retry {
                    after: backoff(delivery.receive_count),
                    reason: e.to_string(),
                };
            }
        };
        let words = survey_words(&self.language);
        let text = match answered {
            Answered::Recorded => words.thanks,
            Answered::Already => words.already,
            Answered::Closed => words.closed,
        };
        if let (Some(buttons), Some(press)) = (&self.buttons, &reply.callback_query_id)
            && let Err(e) = buttons.answer_button(press, text).await
        {
            tracing::warn!(error = %e, "a rating button's press was not answered");
        }
        Handled::Done
    }

    /// A bare "1"–"5" by SMS from a number a survey was sent to, while its conversation
    /// stays resolved: the answer to that survey, stored as nothing else. Anything else
    /// is a message.
    async fn sms_rating(&self, message: &InboundMessage) -> crate::ports::PortResult<bool> {
        if message.channel != Channel::Sms {
            return Ok(false);
        }
        let Some(rating) = rating_in_text(&message.text) else {
            return Ok(false);
        };
        let Some(from) = message.identities.first().filter(|i| i.proven) else {
            return Ok(false);
        };
        let Some(survey) = self.surveys.waiting_for(&from.identity.key()).await? else {
            return Ok(false);
        };
        let Ok(answer) = SurveyAnswer::new(rating, None, None, message.received_at) else {
            return Ok(false);
        };
        let answered = self
            .surveys
            .answer(
                survey.conversation_id,
                survey.number,
                answer,
                Some(&from.identity),
            )
            .await?;
        tracing::info!(conversation_id = %survey.conversation_id, ?answered, "a rating by SMS");
        Ok(true)
    }

    /// The routing policy with the rules as they stand.
    async fn policy_now(&self) -> crate::ports::PortResult<RoutePolicy> {
        Ok(RoutePolicy {
            rules: self
                .rule_cache
                .get(self.rules.as_ref(), self.calendars.as_ref())
                .await?,
            ..self.policy.clone()
        })
    }

    /// Links the agent's chat that sent a code, and tells the chat whether it did.
    async fn link_agent(&self, request: &AgentLinkRequest, delivery: &Delivery) -> Handled {
        let notifications = Notifications {
            store: self.notices.clone(),
        };
        let linked = match LinkCode::parse(&request.link_code) {
            Some(code) => {
                match notifications
                    .link(&code, request.chat_id, request.received_at)
                    .await
                {
                    Ok(linked) => linked,
                    Err(e) => {
                        return Handled::Retry {
                            after: backoff(delivery.receive_count),
                            reason: e.to_string(),
                        };
                    }
                }
            }
            None => None,
        };
        let answer = match linked {
            Some(agent_id) => {
                tracing::info!(%agent_id, "an agent's Telegram chat linked");
                "Linked. Switchboard tells you here what needs you; choose what in your \
                 notification settings."
            }
            None => {
                tracing::info!("a Telegram link code refused");
                "This code is not valid or has expired. Ask Switchboard for a new one."
            }
        };
        if let Some(messenger) = &self.messenger
            && let Err(e) = messenger.tell(request.chat_id, answer).await
        {
            tracing::warn!(error = %e, "the answer to a link code was not sent");
        }
        Handled::Done
    }

    async fn record_proof(&self, proven: &ProvenAddress, delivery: &Delivery) -> Handled {
        let proof = &proven.proof;
        match self.routing.prove_identity(proof, proven.received_at).await {
            Ok(holder) => {
                tracing::info!(contact_id = %proof.contact_id, holder = ?holder, kind = proof.identity.kind.as_str(), "a typed address proven");
                Handled::Done
            }
            Err(e) => Handled::Retry {
                after: backoff(delivery.receive_count),
                reason: e.to_string(),
            },
        }
    }

    /// Stores a customer's message once, then tags, assigns and answers as it asks.
    async fn route(&self, mut message: InboundMessage, delivery: &Delivery) -> Handled {
        // The rules are read first: nothing waits between finding what a message
        // continues (threading) and storing it.
        let policy = match self.policy_now().await {
            Ok(policy) => policy,
            Err(e) => {
                tracing::warn!(error = %e, "reading the routing rules failed; will retry");
                return Handled::Retry {
                    after: backoff(delivery.receive_count),
                    reason: e.to_string(),
                };
            }
        };
        if let Err(reason) = self.fetch_attachments(&mut message, delivery).await {
            tracing::warn!(source_id = message.source_id.as_str(), %reason, receives = delivery.receive_count, "attachment fetch will be retried");
            return Handled::Retry {
                after: backoff(delivery.receive_count),
                reason,
            };
        }
        match self.sms_rating(&message).await {
            Ok(true) => return Handled::Done,
            Ok(false) => {}
            Err(e) => {
                return Handled::Retry {
                    after: backoff(delivery.receive_count),
                    reason: e.to_string(),
                };
            }
        }
        if let Err(e) = super::threading::apply(
            &mut message,
            self.messages.as_ref(),
            self.conversations.as_ref(),
            self.reply_tokens.as_ref(),
        )
        .await
        {
            tracing::warn!(source_id = message.source_id.as_str(), error = %e, "threading will be retried");
            return Handled::Retry {
                after: backoff(delivery.receive_count),
                reason: e.to_string(),
            };
        }
        match self.routing.route(&message, &policy).await {
            Ok(RouteOutcome::Stored {
                message_id,
                conversation_id,
                contact_id,
                new_conversation,
                auto_replies,
            }) => {
                tracing::info!(%message_id, %conversation_id, %contact_id, new_conversation, channel = message.channel.as_str(), "message routed");
                for tag in wanted_tags(&message) {
                    if let Err(reason) = self.tag(conversation_id, tag).await {
                        // The message is stored; the redelivery finds it a duplicate
                        // and tags then.
                        return Handled::Retry {
                            after: backoff(delivery.receive_count),
                            reason,
                        };
                    }
                }
                self.assign_answerer(&message, conversation_id).await;
                let answered =
                    new_conversation && self.answer_first(&message, conversation_id).await;
                if let Some(text) = message.auto_reply.as_ref().filter(|_| !answered) {
                    self.auto_reply(&message, conversation_id, contact_id, text)
                        .await;
                }
                for canned in auto_replies {
                    self.canned_answer(&message, conversation_id, contact_id, canned)
                        .await;
                }
                Handled::Done
            }
            Ok(RouteOutcome::Duplicate { message_id }) => {
                tracing::info!(%message_id, source_id = message.source_id.as_str(), "duplicate delivery dropped");
                // A missed call (or spam) stored before its conversation could be
                // tagged: tag it now (nothing happens when the tag is there).
                let tags = wanted_tags(&message);
                if !tags.is_empty() {
                    let tagged = match self.messages.message(message_id).await {
                        Ok(Some(stored)) => {
                            let mut tagged = Ok(());
                            for tag in tags {
                                tagged = self.tag(stored.conversation_id, tag).await;
                                if tagged.is_err() {
                                    break;
                                }
                            }
                            tagged
                        }
                        Ok(None) => Ok(()),
                        Err(e) => Err(e.to_string()),
                    };
                    if let Err(reason) = tagged {
                        return Handled::Retry {
                            after: backoff(delivery.receive_count),
                            reason,
                        };
                    }
                }
                Handled::Done
            }
            Ok(RouteOutcome::Erased) => {
                // Its files were fetched, and an email's original kept, before it was
                // found erased: they go again.
                let files = message
                    .attachments
                    .iter()
                    .filter(|a| a.is_stored())
                    .map(|a| a.blob_key.clone())
                    .chain(message.original.clone());
                for key in files {
                    if let Err(e) = self.blobs.delete(&key).await {
                        return Handled::Retry {
                            after: backoff(delivery.receive_count),
                            reason: e.to_string(),
                        };
                    }
                }
                tracing::info!(source_id_digest = %crate::services::erasure::source_digest(&message.source_id),
                    "a redelivered message of erased data dropped");
                Handled::Done
            }
            Err(e) => {
                let level_error = !matches!(e, PortError::Unavailable(_) | PortError::Conflict(_));
                if level_error {
                    tracing::error!(source_id = message.source_id.as_str(), error = %e, receives = delivery.receive_count, "routing failed");
                } else {
                    tracing::warn!(source_id = message.source_id.as_str(), error = %e, receives = delivery.receive_count, "routing will be retried");
                }
                Handled::Retry {
                    after: backoff(delivery.receive_count),
                    reason: e.to_string(),
                }
            }
        }
    }

    /// An answered call's conversation goes to the agent who answered. Best effort: the
    /// item is stored and names them either way, so a failure is logged, not retried.
    async fn assign_answerer(&self, message: &InboundMessage, conversation_id: ConversationId) {
        let assigned = async {
            match answerer::answering_agent(self.agents.as_ref(), &message.context).await? {
                Some(agent) => {
                    answerer::assign(self.conversations.as_ref(), conversation_id, agent)
                        .await
                        .map(|()| Some(agent))
                }
                None => Ok(None),
            }
        };
        match assigned.await {
            Ok(Some(agent)) => {
                tracing::info!(%conversation_id, agent_id = %agent, "call assigned to the agent who answered")
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(%conversation_id, error = %e, "the call could not be assigned to the agent who answered")
            }
        }
    }

    async fn record_signal(&self, signal: &ChannelSignal, delivery: &Delivery) -> Handled {
        let Some(identity) = signal.identities.first().map(|p| &p.identity) else {
            return Handled::Done;
        };
        let reachability = signal.signal;
        match self
            .routing
            .set_reachability(identity, signal.channel, reachability, signal.received_at)
            .await
        {
            Ok(contact) => {
                tracing::info!(contact_id = ?contact, channel = signal.channel.as_str(), ?reachability, "reachability recorded");
                Handled::Done
            }
            Err(e) => Handled::Retry {
                after: backoff(delivery.receive_count),
                reason: e.to_string(),
            },
        }
    }

    /// Applies a delivery report. The provider may report before the sender has
    /// recorded the reply's provider id, so an unknown id is retried a few times.
    async fn record_delivery(
        &self,
        report: &crate::model::DeliveryReport,
        delivery: &Delivery,
    ) -> Handled {
        match super::delivery::apply_report(self.messages.as_ref(), report).await {
            Ok(applied @ (Applied::Updated(id) | Applied::Unchanged(id))) => {
                tracing::info!(provider_id = %report.provider_id, status = report.status.as_str(), ?applied, "delivery report recorded");
                if report.kind == ReportKind::Complaint
                    && let Err(reason) = self.tag_complaint(id).await
                {
                    // The status is settled; the redelivery tags (tagging twice is a no-op).
                    return Handled::Retry {
                        after: backoff(delivery.receive_count),
                        reason,
                    };
                }
                Handled::Done
            }
            Ok(Applied::Unknown) if delivery.receive_count + 1 < MAX_DELIVERIES => Handled::Retry {
                after: backoff(delivery.receive_count),
                reason: format!("no reply is known as {} yet", report.provider_id),
            },
            Ok(Applied::Unknown) => {
                tracing::warn!(provider_id = %report.provider_id, "delivery report for an unknown reply dropped");
                Handled::Done
            }
            Err(e) => Handled::Retry {
                after: backoff(delivery.receive_count),
                reason: e.to_string(),
            },
        }
    }

    /// The customer reported our reply as spam: its conversation is tagged for the team.
    async fn tag_complaint(&self, reply: MessageId) -> Result<(), String> {
        let message = self
            .messages
            .message(reply)
            .await
            .map_err(|e| e.to_string())?;
        let Some(message) = message else {
            return Ok(());
        };
        tracing::warn!(message_id = %reply, conversation_id = %message.conversation_id, "the customer reported a reply as spam");
        self.tag(message.conversation_id, COMPLAINT_TAG).await
    }

    /// Brings every file still at the provider into the blob store. A file that can
    /// never come (too large, gone) is kept with the reason; a temporary failure retries
    /// the whole message until its last delivery, which stores it without the file.
    async fn fetch_attachments(
        &self,
        message: &mut InboundMessage,
        delivery: &Delivery,
    ) -> Result<(), String> {
        let pending = message
            .attachments
            .iter()
            .any(|a| !a.is_stored() && a.fetch_error.is_none() && a.provider_ref.is_some());
        if !pending {
            return Ok(());
        }
        let fetcher = self.fetchers.get(&message.channel).cloned();
        let prefix = blob_prefix(&message.source_id);
        let last_try = delivery.receive_count >= MAX_DELIVERIES;
        for (index, attachment) in message.attachments.iter_mut().enumerate() {
            let Some(reference) = attachment.provider_ref.clone() else {
                continue;
            };
            if attachment.is_stored() || attachment.fetch_error.is_some() {
                continue;
            }
            let Some(fetcher) = &fetcher else {
                attachment.fetch_error = Some("the channel cannot fetch files".into());
                continue;
            };
            if attachment.size > MAX_ATTACHMENT_BYTES {
                attachment.fetch_error = Some(too_large());
                continue;
            }
            match fetcher.fetch(&reference, MAX_ATTACHMENT_BYTES).await {
                Ok(file) => {
                    let key = format!("{prefix}/{index}");
                    let content_type = file
                        .content_type
                        .filter(|_| attachment.content_type == "application/octet-stream")
                        .unwrap_or_else(|| attachment.content_type.clone());
                    let size = file.bytes.len() as u64;
                    let blob = Blob {
                        content_type: content_type.clone(),
                        bytes: file.bytes,
                    };
                    self.blobs
                        .put(&key, blob)
                        .await
                        .map_err(|e| format!("storing attachment {index}: {e}"))?;
                    attachment.blob_key = key;
                    attachment.content_type = content_type;
                    attachment.size = size;
                }
                Err(FetchError::Permanent(reason)) => {
                    tracing::warn!(source_id = message.source_id.as_str(), index, %reason, "attachment not fetched");
                    attachment.fetch_error = Some(reason);
                }
                Err(FetchError::Retryable(reason)) if last_try => {
                    attachment.fetch_error = Some(format!("gave up fetching: {reason}"));
                }
                Err(FetchError::Retryable(reason)) => {
                    return Err(format!("fetching attachment {index}: {reason}"));
                }
            }
        }
        Ok(())
    }

    /// Adds `tag` to the conversation (with its event) unless it has it.
    async fn tag(&self, id: crate::model::ConversationId, tag: &str) -> Result<(), String> {
        for _ in 0..3 {
            let current = match self.conversations.conversation(id).await {
                Ok(Some(c)) => c,
                Ok(None) => return Ok(()),
                Err(e) => {
                    tracing::warn!(conversation_id = %id, error = %e, tag, "conversation not tagged yet");
                    return Err(e.to_string());
                }
            };
            if current.tags.iter().any(|t| t == tag) {
                return Ok(());
            }
            let mut tagged = current.clone();
            tagged.tags.push(tag.to_owned());
            let event = Event::new(
                id,
                EventKind::TagsChanged {
                    added: vec![tag.to_owned()],
                    removed: Vec::new(),
                },
                None,
                Utc::now(),
            );
            match self
                .conversations
                .save_conversation(&tagged, current.version, &[event])
                .await
            {
                Ok(_) => return Ok(()),
                Err(PortError::Conflict(_)) => continue,
                Err(e) => {
                    tracing::warn!(conversation_id = %id, error = %e, tag, "conversation not tagged yet");
                    return Err(e.to_string());
                }
            }
        }
        tracing::warn!(conversation_id = %id, tag, "conversation not tagged yet: it kept changing");
        Err(format!(
            "the conversation kept changing while it was tagged `{tag}`"
        ))
    }

    /// Queues the channel's automatic answer; a failure only costs the welcome.
    /// A rule's canned reply, filled in for the customer, as an automatic answer.
    /// Best effort, like every automatic answer: the message is stored either way.
    async fn canned_answer(
        &self,
        message: &InboundMessage,
        conversation_id: crate::model::ConversationId,
        contact_id: crate::model::ContactId,
        id: CannedReplyId,
    ) {
        let filled = async {
            let Some(reply) = self
                .canned
                .canned_replies()
                .await?
                .into_iter()
                .find(|r| r.id == id)
            else {
                return Ok::<_, PortError>(None);
            };
            let contact = self.contacts.contact(contact_id).await?;
            let conversation = conversation_id.to_string();
            Ok(Some(reply.render(&Fill {
                contact_name: contact.as_ref().and_then(|c| c.name.as_deref()),
                conversation_id: &conversation,
                agent_name: "",
                agent_email: "",
            })))
        };
        match filled.await {
            Ok(Some(text)) => {
                self.auto_reply(message, conversation_id, contact_id, &text)
                    .await;
            }
            Ok(None) => {
                tracing::warn!(canned_reply_id = %id, "a rule's canned reply is gone; no answer sent");
            }
            Err(e) => {
                tracing::error!(%conversation_id, error = %e, "a rule's canned reply not filled in");
            }
        }
    }

    async fn auto_reply(
        &self,
        message: &InboundMessage,
        conversation_id: crate::model::ConversationId,
        contact_id: crate::model::ContactId,
        text: &str,
    ) {
        let reply = Message::outbound(
            conversation_id,
            contact_id,
            message.channel,
            Author::System,
            text,
        );
        match queue_reply(self.messages.as_ref(), self.queue.as_ref(), &reply).await {
            Ok(()) => {
                tracing::info!(message_id = %reply.id, %conversation_id, "automatic answer queued");
            }
            Err(e) => {
                tracing::error!(%conversation_id, error = %e, "automatic answer not queued");
            }
        }
    }
}

fn too_large() -> String {
    format!(
        "larger than {} MB: not downloaded",
        MAX_ATTACHMENT_BYTES / 1024 / 1024
    )
}

/// Where a message's attachments go: one folder per source id, so a retried fetch
/// writes the same keys again instead of new ones.
fn blob_prefix(source: &crate::model::SourceId) -> String {
    let safe: String = source
        .as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_matches('.');
    if safe.is_empty() {
        "attachments/unnamed".into()
    } else {
        format!("attachments/{safe}")
    }
}

/// The tags the message asks its conversation to carry: `callback` for a missed call,
/// `spam` for an email the mail provider judged spam.
fn wanted_tags(message: &InboundMessage) -> Vec<&'static str> {
    let asks = |key: &str| message.context.iter().any(|(k, v)| k == key && v == "yes");
    [("call_back", CALLBACK_TAG), ("spam", SPAM_TAG)]
        .into_iter()
        .filter(|(key, _)| asks(key))
        .map(|(_, tag)| tag)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attachment, SourceId};

    #[test]
    fn blob_prefixes_are_valid_keys_for_any_source_id() {
        for source in [
            "telegram:-100123:45",
            "telegram:1:2:edit:3",
            "a/../b",
            "...",
        ] {
            let key = format!("{}/0", blob_prefix(&SourceId::from_stored(source.into())));
            assert!(crate::ports::check_blob_key(&key).is_ok(), "{key}");
        }
    }

    #[test]
    fn an_attachment_still_at_the_provider_is_not_stored() {
        let a = Attachment::at_provider("file".into(), None, None, Some(3));
        assert!(!a.is_stored());
        assert_eq!(a.content_type, "application/octet-stream");
    }
}
