use super::{
    Attachment, Channel, ConversationId, DeliveryStatus, Identity, PresentedIdentity, SourceId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A customer's message as every channel hands it to the router: channel-neutral,
/// validated, and carrying the provider's id so it is stored at most once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub source_id: SourceId,
    pub channel: Channel,
    pub received_at: DateTime<Utc>,
    pub sender_name: Option<String>,
    /// Most specific first; the first one orders the customer's messages.
    pub identities: Vec<PresentedIdentity>,
    pub text: String,
    pub subject: Option<String>,
    pub thread: ThreadHint,
    /// A customer-page link to bind to the conversation this message lands in
    /// (the SHA-256 of the token handed to the customer, hex).
    pub customer_link: Option<String>,
    /// Small facts from the channel worth showing an agent (the page a form was sent from).
    pub context: Vec<(String, String)>,
    /// Files that came with it; those still at the provider (`provider_ref`) are
    /// fetched into the blob store before the message is stored.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// The source id of the message this one answers.
    #[serde(default)]
    pub reply_to: Option<SourceId>,
    /// The source id of the message this one edits.
    #[serde(default)]
    pub edit_of: Option<SourceId>,
    /// The provider's key for messages sent together (an album).
    #[serde(default)]
    pub media_group: Option<String>,
    /// An automatic answer to send once the message is stored (a welcome text).
    #[serde(default)]
    pub auto_reply: Option<String>,
    /// What the message says about the conversation it continues, strongest first
    /// (an email's `In-Reply-To`/`References`, reply token, subject reference). The
    /// router resolves them against what is stored into a [`ThreadHint`].
    #[serde(default)]
    pub thread_refs: Vec<ThreadRef>,
    /// The id the customer's own system gave the message (an email's Message-ID),
    /// which a reply to it names (`In-Reply-To`).
    #[serde(default)]
    pub external_id: Option<String>,
    /// The blob key of the message exactly as it arrived (an email's raw MIME), kept for
    /// the agent to open.
    #[serde(default)]
    pub original: Option<String>,
}

/// What a channel puts on the inbound queue: a customer's message to store, or news the
/// router applies. Each is keyed by its `source_id`, so the same news is applied once.
///
/// On the queue each is its own JSON object; the news is told apart by the field that
/// carries it (`signal`, `delivery_report`, `proof`), the names the queue has always used.
#[derive(Clone, Debug, PartialEq)]
pub enum Inbound {
    Message(Box<InboundMessage>),
    /// The customer blocked or unblocked us on a channel.
    Signal(ChannelSignal),
    /// The provider's news about a reply we sent (an SMS delivered).
    Report(ReportedDelivery),
    /// A customer proved an address they typed.
    Proof(ProvenAddress),
    /// An agent sent the bot the code that links their chat, to be notified there.
    AgentLink(AgentLinkRequest),
    /// A customer pressed a rating button under a survey.
    SurveyAnswer(SurveyReply),
    /// A customer answered the article a bot sent them: it solved their question, or they
    /// want a person.
    BotAnswerTaken(BotAnswerTaken),
}

/// What a customer made of the article a bot answered their question with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BotOutcome {
    /// It solved their question: the conversation is resolved as self-served.
    Solved,
    /// They want a person: the conversation goes to the agents.
    Person,
}

/// A press of one of the buttons under a bot's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotAnswerTaken {
    pub source_id: SourceId,
    pub received_at: DateTime<Utc>,
    pub conversation_id: super::ConversationId,
    pub article_id: super::ArticleId,
    pub bot_outcome: BotOutcome,
    /// The button press to answer, so the customer's app stops waiting.
    pub callback_query_id: Option<String>,
    /// Who pressed it (a Telegram user): only the conversation's own customer is heard.
    /// None: the holder of the conversation's customer link, which the page checked.
    #[serde(default)]
    pub by: Option<Identity>,
}

/// A survey's answer a customer gave with a button (Telegram) or on a survey page, for
/// the router to record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyReply {
    pub source_id: SourceId,
    pub received_at: DateTime<Utc>,
    /// The survey, as its signed token names it.
    pub survey_token: String,
    pub rating: u8,
    #[serde(default)]
    pub nps: Option<u8>,
    #[serde(default)]
    pub comment: Option<String>,
    /// The button press to answer, so the customer's app stops waiting.
    pub callback_query_id: Option<String>,
    /// Who pressed it, where the channel says.
    #[serde(default)]
    pub by: Option<Identity>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelSignal {
    pub source_id: SourceId,
    pub channel: Channel,
    pub received_at: DateTime<Utc>,
    /// Who it is about, as the channel presents them.
    pub identities: Vec<PresentedIdentity>,
    pub signal: Reachability,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportedDelivery {
    pub source_id: SourceId,
    pub channel: Channel,
    pub received_at: DateTime<Utc>,
    pub delivery_report: DeliveryReport,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProvenAddress {
    pub source_id: SourceId,
    pub received_at: DateTime<Utc>,
    pub proof: crate::ports::PendingProof,
}

/// `/start <code>` from an agent's private Telegram chat. The code is checked by the
/// router, never stored as a message.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentLinkRequest {
    pub source_id: SourceId,
    pub received_at: DateTime<Utc>,
    pub chat_id: i64,
    pub link_code: String,
}

impl std::fmt::Debug for AgentLinkRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentLinkRequest")
            .field("source_id", &self.source_id)
            .field("chat_id", &self.chat_id)
            .finish_non_exhaustive()
    }
}

impl Serialize for Inbound {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let news = match self {
            Inbound::Message(m) => return m.serialize(serializer),
            Inbound::Signal(s) => serde_json::to_value(s),
            Inbound::Report(r) => serde_json::to_value(r),
            Inbound::Proof(p) => serde_json::to_value(p),
            Inbound::AgentLink(l) => serde_json::to_value(l),
            Inbound::SurveyAnswer(a) => serde_json::to_value(a),
            Inbound::BotAnswerTaken(a) => serde_json::to_value(a),
        };
        let mut news = news.map_err(S::Error::custom)?;
        // With the fields a message must have, so that a router of the release before,
        // which read every queued item as a message, still reads news queued by this one
        // while a deploy replaces the functions one by one.
        if let Some(fields) = news.as_object_mut() {
            for (field, empty) in [
                ("channel", serde_json::json!(Channel::Web)),
                ("identities", serde_json::json!([])),
                ("text", serde_json::json!("")),
                ("thread", serde_json::json!({ "type": "none" })),
                ("context", serde_json::json!([])),
            ] {
                fields.entry(field).or_insert(empty);
            }
        }
        news.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Inbound {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let carries = |field: &str| value.get(field).is_some_and(|v| !v.is_null());
        let read = if carries("signal") {
            serde_json::from_value(value).map(Inbound::Signal)
        } else if carries("delivery_report") {
            serde_json::from_value(value).map(Inbound::Report)
        } else if carries("proof") {
            serde_json::from_value(value).map(Inbound::Proof)
        } else if carries("link_code") {
            serde_json::from_value(value).map(Inbound::AgentLink)
        } else if carries("survey_token") {
            serde_json::from_value(value).map(Inbound::SurveyAnswer)
        } else if carries("bot_outcome") {
            serde_json::from_value(value).map(Inbound::BotAnswerTaken)
        } else {
            serde_json::from_value(value).map(|m| Inbound::Message(Box::new(m)))
        };
        read.map_err(serde::de::Error::custom)
    }
}

impl Inbound {
    pub fn report(source_id: SourceId, channel: Channel, report: DeliveryReport) -> Self {
        Inbound::Report(ReportedDelivery {
            source_id,
            channel,
            received_at: chrono::Utc::now(),
            delivery_report: report,
        })
    }

    pub fn proof(source_id: SourceId, proof: crate::ports::PendingProof) -> Self {
        Inbound::Proof(ProvenAddress {
            source_id,
            received_at: chrono::Utc::now(),
            proof,
        })
    }

    /// The provider's news about a reply, when that is what this is.
    pub fn delivery_report(&self) -> Option<&DeliveryReport> {
        match self {
            Inbound::Report(r) => Some(&r.delivery_report),
            _ => None,
        }
    }

    pub fn source_id(&self) -> &SourceId {
        match self {
            Inbound::Message(m) => &m.source_id,
            Inbound::Signal(s) => &s.source_id,
            Inbound::Report(r) => &r.source_id,
            Inbound::Proof(p) => &p.source_id,
            Inbound::AgentLink(l) => &l.source_id,
            Inbound::SurveyAnswer(a) => &a.source_id,
            Inbound::BotAnswerTaken(a) => &a.source_id,
        }
    }

    /// The key that orders one customer's messages (an SQS FIFO message group); news of
    /// a reply or a proof is ordered by nothing but itself.
    pub fn ordering_key(&self) -> String {
        match self {
            Inbound::Message(m) => m.ordering_key(),
            Inbound::Signal(s) => s.identities.first().map_or_else(
                || s.source_id.as_str().to_owned(),
                |first| first.identity.key(),
            ),
            Inbound::Report(r) => r.source_id.as_str().to_owned(),
            Inbound::Proof(p) => p.source_id.as_str().to_owned(),
            Inbound::AgentLink(l) => l.source_id.as_str().to_owned(),
            Inbound::SurveyAnswer(a) => a.source_id.as_str().to_owned(),
            // With the customer's messages, so a press and a message typed after it are
            // taken in the order they came.
            Inbound::BotAnswerTaken(a) => {
                a.by.as_ref()
                    .map_or_else(|| a.conversation_id.to_string(), Identity::key)
            }
        }
    }
}

impl From<InboundMessage> for Inbound {
    fn from(message: InboundMessage) -> Self {
        Inbound::Message(Box::new(message))
    }
}

/// One clue to the conversation a message continues.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThreadRef {
    /// A customer's message we stored, by its source id.
    Source { id: SourceId },
    /// A reply of ours, by the id its provider knows it by.
    Provider { id: String },
    /// The reply token of the address the customer wrote to; only valid if its
    /// signature checks out.
    Token { token: String },
    /// A conversation the subject names (`[#cv_…]`).
    Subject { id: ConversationId },
}

/// What a provider says became of a reply it took (a Twilio status callback).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReport {
    /// The id the provider gave the reply, as the sender stored it.
    pub provider_id: String,
    /// `Delivered` or `Failed`.
    pub status: DeliveryStatus,
    pub error: Option<String>,
    /// What the report is about, beyond the status.
    #[serde(default)]
    pub kind: ReportKind,
}

/// What a delivery report is about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// The reply's delivery status, nothing more.
    #[default]
    Status,
    /// The recipient reported the reply as spam: its conversation is tagged `complaint`.
    Complaint,
}

/// Whether a customer can be reached on a channel (a Telegram user blocks the bot).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    Blocked,
    Unblocked,
}

/// What the channel knows about which conversation a message continues.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThreadHint {
    #[default]
    None,
    /// Written on a customer page: it continues that page's conversation.
    CustomerLink {
        link_hash: String,
    },
    Conversation {
        id: ConversationId,
    },
}

impl InboundMessage {
    /// A message with nothing in it yet but where it came from: the channel's normalizer
    /// fills in what it carries (`InboundMessage { text, ..InboundMessage::new(…) }`).
    pub fn new(source_id: SourceId, channel: Channel, received_at: DateTime<Utc>) -> Self {
        Self {
            source_id,
            channel,
            received_at,
            sender_name: None,
            identities: Vec::new(),
            text: String::new(),
            subject: None,
            thread: ThreadHint::None,
            customer_link: None,
            context: Vec::new(),
            attachments: Vec::new(),
            reply_to: None,
            edit_of: None,
            media_group: None,
            auto_reply: None,
            thread_refs: Vec::new(),
            external_id: None,
            original: None,
        }
    }

    /// The key that orders one customer's messages (an SQS FIFO message group).
    pub fn ordering_key(&self) -> String {
        match (&self.thread, self.identities.first()) {
            (ThreadHint::CustomerLink { link_hash }, _) => format!("link:{link_hash}"),
            (ThreadHint::Conversation { id }, _) => id.to_string(),
            (ThreadHint::None, Some(first)) => first.identity.key(),
            (ThreadHint::None, None) => self.source_id.as_str().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContactId, Identity};
    use crate::ports::PendingProof;

    fn message() -> InboundMessage {
        InboundMessage {
            identities: vec![PresentedIdentity::proven(Identity::telegram(42))],
            text: "hello".into(),
            ..InboundMessage::new(
                SourceId::new("telegram", "update:7"),
                Channel::Telegram,
                DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            )
        }
    }

    fn report() -> DeliveryReport {
        DeliveryReport {
            provider_id: "twilio:SM1".into(),
            status: DeliveryStatus::Delivered,
            error: None,
            kind: ReportKind::Status,
        }
    }

    fn proof() -> PendingProof {
        PendingProof {
            contact_id: ContactId::new(),
            conversation_id: ConversationId::new(),
            identity: Identity::telegram(42),
        }
    }

    /// What the queue held before news had types of its own: every item a whole
    /// message, the news in `signal`, `delivery_report` or `proof`.
    fn as_queued_before(extra: &[(&str, serde_json::Value)]) -> Vec<u8> {
        let mut old = serde_json::to_value(message()).unwrap();
        old["signal"] = serde_json::Value::Null;
        old["delivery_report"] = serde_json::Value::Null;
        for (field, value) in extra {
            old[*field] = value.clone();
        }
        serde_json::to_vec(&old).unwrap()
    }

    #[test]
    fn what_the_queue_held_before_still_reads_as_its_kind() {
        let read = |bytes: Vec<u8>| serde_json::from_slice::<Inbound>(&bytes).unwrap();
        assert_eq!(read(as_queued_before(&[])), Inbound::from(message()));
        match read(as_queued_before(&[("signal", "blocked".into())])) {
            Inbound::Signal(s) => {
                assert_eq!(s.signal, Reachability::Blocked);
                assert_eq!(s.identities, message().identities);
                assert_eq!(s.source_id, message().source_id);
            }
            other => panic!("not a signal: {other:?}"),
        }
        let reported = serde_json::to_value(report()).unwrap();
        match read(as_queued_before(&[("delivery_report", reported)])) {
            Inbound::Report(r) => assert_eq!(r.delivery_report, report()),
            other => panic!("not a report: {other:?}"),
        }
        let proven = proof();
        let value = serde_json::to_value(&proven).unwrap();
        match read(as_queued_before(&[("proof", value)])) {
            Inbound::Proof(p) => assert_eq!(p.proof, proven),
            other => panic!("not a proof: {other:?}"),
        }
    }

    #[test]
    fn every_kind_reads_back_as_it_was_written_and_a_message_as_itself() {
        let signal = Inbound::Signal(ChannelSignal {
            source_id: SourceId::new("telegram", "update:8"),
            channel: Channel::Telegram,
            received_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            identities: message().identities,
            signal: Reachability::Unblocked,
        });
        let report = Inbound::report(
            SourceId::new("twilio", "status:SM1"),
            Channel::Sms,
            report(),
        );
        let proof = Inbound::proof(SourceId::new("proof", "abc"), proof());
        let link = Inbound::AgentLink(AgentLinkRequest {
            source_id: SourceId::new("telegram", "5:9"),
            received_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            chat_id: 5,
            link_code: "ag_01jd8x3m6k9q0w5e2r7t4y1v3h-abcdefghijklmnopqrstuvwx".into(),
        });
        let rated = Inbound::SurveyAnswer(SurveyReply {
            source_id: SourceId::new("telegram", "callback:77"),
            received_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            survey_token: "01jd8x3m6k9q0w5e2r7t4y1v3h-1.0123456789abcdef".into(),
            rating: 4,
            nps: None,
            comment: None,
            callback_query_id: Some("77".into()),
            by: Some(Identity::telegram(5)),
        });
        for item in [
            Inbound::from(message()),
            signal.clone(),
            report.clone(),
            proof.clone(),
            link,
            rated,
        ] {
            let bytes = serde_json::to_vec(&item).unwrap();
            assert_eq!(serde_json::from_slice::<Inbound>(&bytes).unwrap(), item);
        }
        // News reads as a message too, as a router of the release before read it.
        for news in [signal, report, proof] {
            let value = serde_json::to_value(&news).unwrap();
            assert!(
                serde_json::from_value::<InboundMessage>(value).is_ok(),
                "{news:?}"
            );
        }
        // A message goes on the queue as the message itself: no wrapper, no tag.
        assert_eq!(
            serde_json::to_value(Inbound::from(message())).unwrap(),
            serde_json::to_value(message()).unwrap()
        );
    }

    #[test]
    fn news_that_does_not_read_says_what_is_wrong() {
        let error =
            serde_json::from_slice::<Inbound>(&as_queued_before(&[("signal", "maybe".into())]))
                .unwrap_err()
                .to_string();
        assert!(error.contains("maybe"), "{error}");
    }
}
