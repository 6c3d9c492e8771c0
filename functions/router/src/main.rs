//! `router`: drains the inbound FIFO queue (SQS event source, batches of 10, partial
//! batch failures) into the store: identity → contact → conversation → assignee, once.
#![forbid(unsafe_code)]

use shared::aws::{AwsClients, sdk_config};
use shared::lambda::{self, Error, sqs::Consumer};
use shared::ports::QueueName;
use shared::services::router::Fetchers;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (consumer, router) = lambda::start(|config| async move {
        let clients = AwsClients::new(&sdk_config().await);
        let backend = clients.backend(&config.aws);
        lambda::warm_up(&backend).await;
        let consumer = Consumer {
            queue: backend.queue.clone(),
            name: QueueName::Inbound,
            max_retry_delay: config.max_retry_delay,
        };
        // Channels whose files are fetched behind the queue (Telegram) add their fetcher
        // here when their function lands on AWS.
        let router = backend.router(config.route, Fetchers::default());
        Ok((consumer, Arc::new(router)))
    })
    .await?;
    consumer
        .run(|delivery| {
            let router = router.clone();
            async move { router.handle(delivery).await }
        })
        .await
}
