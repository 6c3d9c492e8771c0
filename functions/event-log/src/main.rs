//! `event-log`: the table's change stream (DynamoDB Streams) invokes it with batches of
//! records; it keeps the log entries they make, which the changes feed
//! (`GET /v1/events`) reads.
#![forbid(unsafe_code)]

use shared::aws::AwsClients;
use shared::lambda::{self, Error, event_log};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let store = lambda::start(|config| async move {
        let clients = AwsClients::from_env()?;
        // No warm-up read: its role may only put feed pages.
        Ok(clients.store(&config.aws))
    })
    .await?;
    event_log::run(store).await
}
