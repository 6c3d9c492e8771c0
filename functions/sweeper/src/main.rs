//! `sweeper`: every minute (an EventBridge schedule), the time-driven changes: snoozed
//! conversations whose time has come reopen.
#![forbid(unsafe_code)]

use shared::aws::{AwsClients, sdk_config};
use shared::lambda::{self, Error, schedule};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let conversations = lambda::start(|config| async move {
        let clients = AwsClients::new(&sdk_config().await);
        let backend = clients.backend(&config.aws);
        lambda::warm_up(&backend).await;
        Ok(backend.conversations)
    })
    .await?;
    schedule::run(conversations).await
}
