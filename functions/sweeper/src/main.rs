//! `sweeper`: every minute (an EventBridge schedule), the time-driven changes: snoozed
//! conversations whose time has come reopen.
#![forbid(unsafe_code)]

use shared::aws::AwsClients;
use shared::lambda::{self, Error, schedule};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let conversations = lambda::start(|config| async move {
        // The store alone: the sweeper reaches no queue and no bucket.
        let store = AwsClients::from_env()?.store(&config.aws);
        lambda::warm_up(store.as_ref()).await;
        Ok(store)
    })
    .await?;
    schedule::run(conversations).await
}
