//! `webhook-sender`: drains the webhooks queue (an SQS FIFO queue, one group per
//! subscription and conversation), signing and POSTing each delivery and recording the
//! try; a failed one goes back on the queue until its next try is due.
#![forbid(unsafe_code)]

use shared::aws::AwsClients;
use shared::lambda::{self, Error, sqs::Consumer};
use shared::ports::QueueName;
use shared::services::webhooks::post::WebhookClient;
use shared::services::webhooks::retry::MAX_RETRY_AFTER;
use shared::services::webhooks::target::TargetPolicy;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (consumer, deliverer) = lambda::start(|config| async move {
        let clients = AwsClients::from_env()?;
        let backend = clients.backend(&config.aws);
        lambda::warm_up(backend.conversations.as_ref()).await;
        let client = WebhookClient::new(TargetPolicy {
            local: false,
            allowed_hosts: config.webhooks.allowed_hosts.clone(),
        })?;
        let consumer = Consumer {
            queue: backend.queue.clone(),
            name: QueueName::Webhooks,
            // The schedule's waits are hours long: only the queue's own cap applies.
            max_retry_delay: MAX_RETRY_AFTER,
        };
        let deliverer =
            backend.webhook_deliverer(Arc::new(client), config.webhooks.schedule.clone());
        Ok((consumer, deliverer))
    })
    .await?;
    consumer.run(|delivery| deliverer.handle(delivery)).await
}
