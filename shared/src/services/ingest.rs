//! Putting a normalized inbound message on the inbound queue, durably, once.

use crate::model::{Inbound, InboundMessage, SourceId};
use crate::ports::{Enqueue, IdempotencyStore, PortError, PortResult, Queue, QueueName, SendOnce};
use chrono::{DateTime, Utc};
use std::sync::Arc;

#[derive(Clone)]
pub struct Ingest {
    queue: Arc<dyn Queue>,
}

impl Ingest {
    pub fn new(queue: Arc<dyn Queue>) -> Self {
        Self { queue }
    }

    /// Returns once the message (or news) is durable; a repeat of its source id is dropped.
    pub async fn submit(&self, message: &impl Queued) -> PortResult<()> {
        self.queue
            .send(QueueName::Inbound, vec![enqueue(message)?])
            .await
    }

    /// Holds a client's idempotency `key` (a digest) with `value` in `once` and submits
    /// `message`, unless the key is already held: then nothing is sent. Returns the value
    /// held.
    pub async fn submit_once(
        once: &dyn SendOnce,
        key: &str,
        value: String,
        expires_at: DateTime<Utc>,
        message: &InboundMessage,
    ) -> PortResult<String> {
        once.send_once(key, value, expires_at, enqueue(message)?)
            .await
    }
}

/// What the inbound queue carries: an [`Inbound`], or a message alone (which is written
/// exactly as `Inbound::Message` of it).
pub trait Queued: serde::Serialize {
    fn source_id(&self) -> &SourceId;
    fn ordering_key(&self) -> String;
}

impl Queued for Inbound {
    fn source_id(&self) -> &SourceId {
        Inbound::source_id(self)
    }
    fn ordering_key(&self) -> String {
        Inbound::ordering_key(self)
    }
}

impl Queued for InboundMessage {
    fn source_id(&self) -> &SourceId {
        &self.source_id
    }
    fn ordering_key(&self) -> String {
        InboundMessage::ordering_key(self)
    }
}

fn enqueue(message: &impl Queued) -> PortResult<Enqueue> {
    let body = serde_json::to_vec(message).map_err(|e| PortError::Internal(e.to_string()))?;
    Ok(Enqueue {
        body,
        group: message.ordering_key(),
        dedup: message.source_id().as_str().to_owned(),
    })
}

/// [`SendOnce`] where the keys and the queue live apart (DynamoDB and SQS): the key is
/// held first and the message sent after. A process that stops in between leaves the key
/// held with nothing sent, so a caller whose key was already held sends its message again
/// (the queue drops a repeat of its source id).
pub struct KeyThenSend {
    pub keys: Arc<dyn IdempotencyStore>,
    pub queue: Arc<dyn Queue>,
}

#[async_trait::async_trait]
impl SendOnce for KeyThenSend {
    async fn send_once(
        &self,
        key: &str,
        value: String,
        expires_at: DateTime<Utc>,
        message: Enqueue,
    ) -> PortResult<String> {
        let held = self.keys.remember(key, value.clone(), expires_at).await?;
        if held == value {
            self.queue.send(QueueName::Inbound, vec![message]).await?;
        }
        Ok(held)
    }
}
