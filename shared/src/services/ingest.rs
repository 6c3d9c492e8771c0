//! Putting a normalized inbound message on the inbound queue, durably, once.

use crate::model::InboundMessage;
use crate::ports::{Enqueue, PortResult, Queue, QueueName};
use std::sync::Arc;

#[derive(Clone)]
pub struct Ingest {
    queue: Arc<dyn Queue>,
}

impl Ingest {
    pub fn new(queue: Arc<dyn Queue>) -> Self {
        Self { queue }
    }

    /// Returns once the message is durable; a repeat of its source id is dropped.
    pub async fn submit(&self, message: &InboundMessage) -> PortResult<()> {
        let body = serde_json::to_vec(message)
            .map_err(|e| crate::ports::PortError::Internal(e.to_string()))?;
        let item = Enqueue {
            body,
            group: message.ordering_key(),
            dedup: message.source_id.as_str().to_owned(),
        };
        self.queue.send(QueueName::Inbound, vec![item]).await
    }
}
