//! `event-log`: the table's change stream (DynamoDB Streams) invokes it with batches of
//! records; it keeps the log entries they make, which the changes feed
//! (`GET /v1/events`) reads, and records and queues the webhook deliveries they make.
#![forbid(unsafe_code)]

use shared::aws::AwsClients;
use shared::lambda::{self, Error, event_log};
use shared::services::subscriber::Subscriber;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (store, fanout) = lambda::start(|config| async move {
        let clients = AwsClients::from_env()?;
        // No warm-up read: its role may only put feed pages and deliveries, and read
        // the subscriptions.
        let backend = clients.backend(&config.aws);
        Ok((clients.store(&config.aws), backend.webhook_fanout()))
    })
    .await?;
    event_log::run(store, vec![Arc::new(fanout) as Arc<dyn Subscriber>]).await
}
