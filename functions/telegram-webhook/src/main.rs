//! `telegram-webhook`: `POST /webhooks/telegram` behind API Gateway. Checks Telegram's
//! secret token, normalizes the update and puts it on the inbound queue; files are
//! fetched later, by the router.
#![forbid(unsafe_code)]

use shared::aws::AwsClients;
use shared::backend::NoBlobs;
use shared::http::{ChannelState, telegram_router};
use shared::lambda::{self, Error};
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let state = lambda::start(|mut config| async move {
        let clients = AwsClients::from_env()?;
        let settings = config
            .telegram
            .as_ref()
            .ok_or("SWITCHBOARD_TELEGRAM_BOT_TOKEN_PARAMETER is not set: there is no bot")?;
        // Reading the secret also pays the SDK's first-call costs (credentials, TLS) here,
        // in init, rather than in the first update.
        config.http.telegram = Some(lambda::telegram::webhook(&clients, settings).await?);
        // The queue is all this function writes: it reads no store and keeps no files.
        Ok(ChannelState::new(
            clients.queue(&config.aws),
            Arc::new(NoBlobs),
            config.http,
        ))
    })
    .await?;
    lambda::http::run(telegram_router(), state).await
}
