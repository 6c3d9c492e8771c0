use super::{Page, PageRequest, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueName {
    /// Customer messages from the webhooks, waiting for the router.
    Inbound,
    /// Agent replies, waiting for the sender.
    Outbound,
    /// Deliveries to webhook subscriptions, in order per message group.
    Webhooks,
}

impl QueueName {
    pub const ALL: [QueueName; 3] = [QueueName::Inbound, QueueName::Outbound, QueueName::Webhooks];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
            Self::Webhooks => "webhooks",
        }
    }

    /// Receives of one message before it is set aside as a dead letter. A webhook
    /// delivery is tried for a day and more, and may first wait behind earlier ones of
    /// its group (each wait a receive); its handler gives up before this.
    pub fn max_receives(self) -> u32 {
        match self {
            Self::Inbound | Self::Outbound => super::MAX_DELIVERIES,
            Self::Webhooks => 100,
        }
    }

    /// Whether no message of a group is handed out while an earlier one of the group is
    /// in flight or waiting to be tried again (an SQS FIFO queue's order). SQS may hand
    /// out several of a group in one receive, in order (a consumer that must hold one
    /// back holds back those after it too); the embedded queue hands out one at a time.
    pub fn keeps_group_order(self) -> bool {
        matches!(self, Self::Webhooks)
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.as_str() == s)
    }
}

/// A message to put on a queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enqueue {
    pub body: Vec<u8>,
    /// Messages of one group are delivered in order (an SQS FIFO message group).
    pub group: String,
    /// A second message with the same key is dropped.
    pub dedup: String,
}

/// A message handed to a consumer; it stays invisible to others until acked or released.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    /// Names this one delivery: ack and release take it.
    pub receipt: String,
    pub body: Vec<u8>,
    /// How many times it has been handed out, this time included.
    pub receive_count: u32,
    /// The group whose messages are handled in order, when its queue has groups.
    pub group: Option<String>,
}

/// A message that failed too often and waits for an admin.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    pub id: String,
    pub queue: QueueName,
    pub receive_count: u32,
    pub enqueued_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// The message body, as text.
    pub body: String,
}

/// A durable queue with visibility timeouts and a dead-letter queue.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Returns once every message is durable.
    async fn send(&self, queue: QueueName, messages: Vec<Enqueue>) -> PortResult<()>;
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> PortResult<Vec<Delivery>>;
    async fn ack(&self, queue: QueueName, receipts: &[String]) -> PortResult<()>;
    /// Makes a message visible again after `delay`, noting why it failed.
    async fn release(
        &self,
        queue: QueueName,
        receipt: &str,
        delay: Duration,
        error: &str,
    ) -> PortResult<()>;
    async fn dead_letters(
        &self,
        queue: QueueName,
        page: &PageRequest,
    ) -> PortResult<Page<DeadLetter>>;
    /// Puts a dead letter back on its queue with a fresh receive count; false if unknown.
    async fn replay(&self, queue: QueueName, id: &str) -> PortResult<bool>;
}
