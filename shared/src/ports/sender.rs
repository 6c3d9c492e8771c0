use crate::model::{Channel, Conversation, Identity, Message};
use async_trait::async_trait;
use std::time::Duration;

/// Everything a channel needs to deliver one reply.
#[derive(Clone, Debug)]
pub struct OutboundDelivery {
    pub message: Message,
    pub conversation: Conversation,
    /// The customer's address on the message's channel.
    pub recipient: Option<Identity>,
    /// The customer's message the reply answers (its `reply_to`), when stored.
    pub answering: Option<Message>,
    /// The reply's attachments with their bytes, in the message's order.
    pub files: Vec<OutboundFile>,
    /// Answers the customer can pick with one tap (a survey's ratings): buttons on
    /// Telegram, links in an email; elsewhere the text says how to answer.
    pub choices: Vec<Choice>,
}

/// One answer offered with a tap: what it says, and what it sends back (a Telegram
/// button's data) or opens (an email's link).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub label: String,
    pub data: String,
}

/// A file an agent attached to a reply, read back from the blob store.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboundFile {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for OutboundFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundFile")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// What the provider said when it took the message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    /// The provider's id for it (kept for threading and status callbacks).
    pub provider_id: Option<String>,
    /// True when the provider confirms delivery at once (the customer page).
    pub delivered: bool,
}

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// Try again later: rate limits, provider outages, network errors.
    #[error("temporary failure: {reason}")]
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The provider refused it for good; the agent sees the reason.
    #[error("{reason}")]
    Permanent { reason: String },
    /// The customer refused messages from us on this channel (a Telegram user blocked
    /// the bot): permanent, and the contact is marked blocked on the channel so the next
    /// reply fails at once.
    #[error("{reason}")]
    Unreachable { reason: String },
}

/// Delivers replies on one channel.
#[async_trait]
pub trait ChannelSender: Send + Sync {
    fn channel(&self) -> Channel;
    /// Whether replies on this channel may carry files.
    fn sends_files(&self) -> bool {
        false
    }
    /// Waits until the provider's pace lets this delivery go, and takes that turn for it:
    /// its `send` then goes at once. A reply is claimed (marked `sending`) only once its
    /// turn has come, so a sender that stops while waiting leaves it queued, not sending.
    async fn wait_turn(&self, _delivery: &OutboundDelivery) {}
    async fn send(&self, delivery: &OutboundDelivery) -> Result<Sent, SendError>;
}
