use super::conversation::str_enum;
use super::{AgentId, ContactId, ConversationId, MessageId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    Email,
    Telegram,
    Sms,
    Voice,
}

str_enum!(Channel { Web => "web", Email => "email", Telegram => "telegram", Sms => "sms", Voice => "voice" });

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

str_enum!(Direction { Inbound => "inbound", Outbound => "outbound" });

/// Where a message stands on its way to or from the customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// An inbound message, stored.
    Received,
    /// A reply waiting for the sender.
    Queued,
    /// Handed to the provider.
    Sent,
    /// The provider confirmed delivery (or the customer page shows it).
    Delivered,
    /// The provider refused it; `delivery_error` says why.
    Failed,
}

str_enum!(DeliveryStatus {
    Received => "received", Queued => "queued", Sent => "sent", Delivered => "delivered", Failed => "failed"
});

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Author {
    Contact {
        contact_id: ContactId,
    },
    Agent {
        agent_id: AgentId,
    },
    /// Switchboard itself: an automatic answer (a channel's welcome text).
    System,
}

/// A file that came with or went out with a message; the bytes live in the blob store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    /// Where the bytes are; empty while they are still at the provider (or could not
    /// be fetched: `fetch_error` says why).
    pub blob_key: String,
    pub filename: Option<String>,
    pub content_type: String,
    pub size: u64,
    /// The provider's own reference to the file (a Telegram `file_id`), to fetch it by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_ref: Option<String>,
    /// Why the bytes could not be fetched (too large, gone at the provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_error: Option<String>,
}

impl Attachment {
    /// A file still at the provider, to be fetched behind the queue.
    pub fn at_provider(
        provider_ref: String,
        filename: Option<String>,
        content_type: Option<String>,
        size: Option<u64>,
    ) -> Self {
        Self {
            blob_key: String::new(),
            filename,
            content_type: content_type.unwrap_or_else(|| "application/octet-stream".into()),
            size: size.unwrap_or(0),
            provider_ref: Some(provider_ref),
            fetch_error: None,
        }
    }

    /// True once the bytes are in the blob store.
    pub fn is_stored(&self) -> bool {
        !self.blob_key.is_empty()
    }
}

/// The provider's own id for an inbound message (`webform:<key>`, `telegram:<update>`);
/// a message with a given source id is stored at most once.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SourceId(String);

impl SourceId {
    pub fn new(provider: &str, id: &str) -> Self {
        Self(format!("{provider}:{id}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_stored(value: String) -> Self {
        Self(value)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    pub direction: Direction,
    pub channel: Channel,
    pub author: Author,
    /// Exactly as the customer or agent wrote it.
    pub text: String,
    pub attachments: Vec<Attachment>,
    #[schema(value_type = Option<String>)]
    pub source_id: Option<SourceId>,
    pub delivery_status: DeliveryStatus,
    pub delivery_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The message this one answers (a Telegram reply), when it is stored.
    #[serde(default)]
    pub reply_to: Option<MessageId>,
    /// The message this one is an edit of; the original is kept as it was.
    #[serde(default)]
    pub edit_of: Option<MessageId>,
    /// Messages sent together (a Telegram album) share this key; show them as one.
    #[serde(default)]
    pub media_group: Option<String>,
    /// The id the customer's own system gave it (an email's Message-ID): what a reply
    /// to it names in `In-Reply-To`.
    #[serde(default)]
    pub external_id: Option<String>,
}
