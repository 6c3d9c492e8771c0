//! `admin`: agents and their keys on a stack, for whoever may invoke it in the account
//! (`aws lambda invoke`): the first admin, a lost admin key, locking someone out. No
//! trigger and no URL reach it.
#![forbid(unsafe_code)]

use shared::aws::AwsClients;
use shared::lambda::{self, Error, admin};
use shared::services::directory::Directory;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let directory = lambda::start(|config| async move {
        let clients = AwsClients::from_env()?;
        let store = clients.store(&config.aws);
        Ok(Directory {
            contacts: store.clone(),
            conversations: store.clone(),
            agents: store.clone(),
            teams: store.clone(),
            sessions: store.clone(),
            tries: store,
        })
    })
    .await?;
    admin::run(directory).await
}
