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
    Contact { contact_id: ContactId },
    Agent { agent_id: AgentId },
}

/// A file that came with or went out with a message; the bytes live in the blob store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    pub blob_key: String,
    pub filename: Option<String>,
    pub content_type: String,
    pub size: u64,
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
}
