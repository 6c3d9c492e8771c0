//! Outbound webhooks, the first subscriber to the event log: each change an admin's
//! subscription asks for is recorded as a delivery, put on the webhooks queue (ordered
//! per subscription and conversation), and POSTed signed; failures are tried again for
//! a day and more, and every try is in the delivery log.

pub mod admin;
pub mod deliver;
pub mod fanout;
pub mod payload;
pub mod post;
pub mod retry;
pub mod signing;
pub mod target;

use crate::model::WebhookId;
use serde::{Deserialize, Serialize};

/// What the webhooks queue carries: which delivery to try, and the group it keeps its
/// order in. Everything else is read from the delivery log when it is tried.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryJob {
    pub webhook_id: WebhookId,
    pub delivery_id: String,
    /// One per subscription and conversation (else contact): a conversation's changes
    /// reach an endpoint in order, and a slow endpoint holds back only itself.
    pub group: String,
}

impl DeliveryJob {
    pub fn of(delivery: &crate::model::WebhookDelivery) -> Self {
        let subject = delivery.change.subject().unwrap_or_default();
        Self {
            webhook_id: delivery.webhook_id,
            delivery_id: delivery.id.clone(),
            group: format!("{}:{subject}", delivery.webhook_id),
        }
    }

    pub fn enqueue(&self, dedup: String) -> crate::ports::Enqueue {
        crate::ports::Enqueue {
            body: serde_json::to_vec(self).unwrap_or_default(),
            group: self.group.clone(),
            dedup,
        }
    }
}
