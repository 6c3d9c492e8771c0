//! `inbox-api`: the agent API (`/v1`) behind API Gateway: the router the local server
//! mounts, on DynamoDB and SQS.
#![forbid(unsafe_code)]

use shared::aws::AwsClients;
use shared::backend::{base_channels, reply_channels};
use shared::http::api_router;
use shared::lambda::{self, Error};
use shared::model::Channel;
use shared::services::directory::new_secret;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let state = lambda::start(|config| async move {
        let clients = AwsClients::from_env()?;
        // Attachments are downloaded from the bucket.
        let backend = clients
            .backend(&config.aws)
            .with_blobs(clients.blobs(&config.aws));
        lambda::warm_up(backend.conversations.as_ref()).await;
        // The agent API hands out no customer links, so it needs no link secret (and its
        // role may not read it): a random one fills the place.
        let (unused_link_secret, _) = new_secret("");
        // Replies are taken on every channel the sender function sends on; the bot's
        // token stays with the sender. Telegram replies may carry files.
        let mut channels = reply_channels(&base_channels());
        if config.telegram.is_some() {
            channels.insert(Channel::Telegram, true);
        }
        // SMS replies, when the account has a number or Messaging Service to send from
        // (text only: the sender sends no MMS).
        if config.twilio.as_ref().is_some_and(|t| t.sender.is_some()) {
            channels.insert(Channel::Sms, false);
        }
        // Email replies, when the stack sends email through SES (with the agent's files as
        // attachments).
        if config.email.is_some() {
            channels.insert(Channel::Email, true);
        }
        Ok(backend.app_state(config.http, unused_link_secret.as_bytes(), &channels))
    })
    .await?;
    lambda::http::run(api_router(), state).await
}
