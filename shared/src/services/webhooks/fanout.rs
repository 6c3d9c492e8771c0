//! The subscriber that turns log entries into deliveries: one per change and
//! subscription that asks for its type, recorded, then queued.

use super::DeliveryJob;
use crate::model::WebhookDelivery;
use crate::ports::{Queue, QueueName, WebhookStore};
use crate::services::error::ServiceResult;
use crate::services::subscriber::Subscriber;
use async_trait::async_trait;
use std::sync::Arc;

pub struct WebhookFanout {
    pub store: Arc<dyn WebhookStore>,
    pub queue: Arc<dyn Queue>,
}

#[async_trait]
impl Subscriber for WebhookFanout {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    async fn handle(&self, changes: &[crate::model::Change]) -> ServiceResult<()> {
        let webhooks = self.store.list_webhooks().await?;
        if !webhooks.iter().any(|w| w.enabled) {
            return Ok(());
        }
        let now = chrono::Utc::now();
        let deliveries: Vec<WebhookDelivery> = changes
            .iter()
            .flat_map(|change| {
                webhooks
                    .iter()
                    .filter(|w| w.wants(change.kind))
                    .map(move |w| WebhookDelivery::new(w.id, change.clone(), now))
            })
            .collect();
        if deliveries.is_empty() {
            return Ok(());
        }
        // Recorded first: a delivery on the queue always has its line in the log. Both
        // steps are idempotent by the delivery's id, so a batch handed over again (after a
        // crash between them) neither loses nor doubles one.
        self.store.add_deliveries(&deliveries).await?;
        let jobs = deliveries
            .iter()
            .map(|d| DeliveryJob::of(d).enqueue(d.id.clone()))
            .collect();
        self.queue.send(QueueName::Webhooks, jobs).await?;
        Ok(())
    }
}
