//! `router`: drains the inbound FIFO queue (SQS event source, batches of 10, partial
//! batch failures) into the store: identity → contact → conversation → assignee, once.
#![forbid(unsafe_code)]

use shared::aws::{AwsClients, sdk_config};
use shared::lambda::{self, Error, sqs::Consumer};
use shared::ports::QueueName;
use shared::services::router::handle_inbound;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (consumer, store, policy) = lambda::start(|config| async move {
        let clients = AwsClients::new(&sdk_config().await);
        let backend = clients.backend(&config.aws);
        lambda::warm_up(&backend).await;
        let consumer = Consumer {
            queue: backend.queue.clone(),
            name: QueueName::Inbound,
            max_retry_delay: config.max_retry_delay,
        };
        Ok((consumer, backend.routing, config.route))
    })
    .await?;
    consumer
        .run(|delivery| handle_inbound(store.as_ref(), &policy, delivery))
        .await
}
