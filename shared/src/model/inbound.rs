use super::{Attachment, Channel, ConversationId, DeliveryStatus, PresentedIdentity, SourceId};
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
    /// Not a message but news about the channel: the customer blocked or unblocked us.
    #[serde(default)]
    pub signal: Option<Reachability>,
    /// Not a message but the provider's news about a reply we sent (an SMS delivered).
    #[serde(default)]
    pub delivery_report: Option<DeliveryReport>,
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
    /// Not a message but a customer's proof of an address they typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<crate::ports::PendingProof>,
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
    /// Not a message but the provider's news about a reply we sent, keyed by `source_id`
    /// so the same news is applied once.
    pub fn report(source_id: SourceId, channel: Channel, report: DeliveryReport) -> Self {
        Self {
            source_id,
            channel,
            received_at: chrono::Utc::now(),
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
            signal: None,
            delivery_report: Some(report),
            thread_refs: Vec::new(),
            external_id: None,
            original: None,
            proof: None,
        }
    }

    /// Not a message but a customer's proof of an address they typed, keyed by
    /// `source_id` so it is applied once.
    pub fn proof(source_id: SourceId, proof: crate::ports::PendingProof) -> Self {
        Self {
            channel: Channel::Web,
            proof: Some(proof),
            delivery_report: None,
            ..Self::report(
                source_id,
                Channel::Web,
                DeliveryReport {
                    provider_id: String::new(),
                    status: DeliveryStatus::Delivered,
                    error: None,
                    kind: ReportKind::Status,
                },
            )
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
