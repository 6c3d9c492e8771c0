//! `webform`: the web form, the hosted contact page and the customer pages, behind API
//! Gateway: the router the local server mounts, on DynamoDB and SQS.
#![forbid(unsafe_code)]

use shared::aws::AwsClients;
use shared::backend::{WebPorts, web_state};
use shared::http::webform_router;
use shared::lambda::{self, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let state = lambda::start(|config| async move {
        let clients = AwsClients::from_env()?;
        let parameter = config
            .link_secret_parameter
            .as_deref()
            .ok_or("SWITCHBOARD_LINK_SECRET_PARAMETER is not set")?;
        let secret = clients.secret_parameter(parameter).await?;
        // The store's conversations, proofs, idempotency keys and articles, the queue, and
        // of the bucket only the knowledge index: no attachments.
        let store = clients.store(&config.aws);
        lambda::warm_up(store.as_ref()).await;
        let ports = WebPorts::on(
            store,
            clients.queue(&config.aws),
            clients.blobs(&config.aws),
        );
        // The customer pages offer to confirm a typed address when the sender can carry
        // its secret there.
        let channels = config.sender_channels();
        Ok(web_state(ports, config.http, secret.as_bytes(), &channels))
    })
    .await?;
    lambda::http::run(webform_router(), state).await
}
