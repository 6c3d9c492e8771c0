//! `inbox-api`: the agent API (`/v1`) behind API Gateway: the router the local server
//! mounts, on DynamoDB and SQS.
#![forbid(unsafe_code)]

use shared::aws::AwsClients;
use shared::config::Secret;
use shared::http::api_router;
use shared::lambda::{self, Error};
use shared::ports::PortError;
use shared::services::drafting::LanguageModel;
use shared::services::webhooks::target::TargetPolicy;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let state = lambda::start(|config| async move {
        let clients = AwsClients::from_env()?;
        // Attachments are downloaded from the bucket.
        let backend = clients
            .backend(&config.aws)
            .with_blobs(clients.blobs(&config.aws));
        lambda::warm_up(backend.conversations.as_ref()).await;
        // The agent API hands out no customer links: it holds no link secret (and its
        // role may not read it).
        let channels = config.sender_channels();
        let mut state = backend.api_state(config.http, &channels);
        // Admins manage webhooks here (the webhook sender sends them, pings too): the same
        // rules on where they may point.
        state.webhooks = Some(backend.webhooks(Arc::new(TargetPolicy {
            local: false,
            allowed_hosts: config.webhooks.allowed_hosts.clone(),
        })));
        // Drafts by a language model, when the stack names one; its key is read once.
        if let Some((options, key_parameter)) = &config.llm {
            let key = match key_parameter {
                Some(name) => Some(Secret::new(clients.secret_parameter(name).await?)),
                None => None,
            };
            let model = LanguageModel::new(options, key).map_err(PortError::Internal)?;
            state.drafting.model = Some(Arc::new(model));
        }
        Ok(state)
    })
    .await?;
    lambda::http::run(api_router(), state).await
}
