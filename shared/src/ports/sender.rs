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
}

/// Delivers replies on one channel.
#[async_trait]
pub trait ChannelSender: Send + Sync {
    fn channel(&self) -> Channel;
    async fn send(&self, delivery: &OutboundDelivery) -> Result<Sent, SendError>;
}
