//! `sender`: drains the outbound queue (SQS event source, batches of 10, partial batch
//! failures), delivering each agent reply on its channel and recording the outcome.
#![forbid(unsafe_code)]

use shared::aws::{AwsClients, SesSender};
use shared::backend::base_channels;
use shared::lambda::{self, Error, sqs::Consumer};
use shared::model::Channel;
use shared::ports::{ChannelSender, QueueName};
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (consumer, sender) = lambda::start(|config| async move {
        let clients = AwsClients::from_env()?;
        // The files agents attach to replies are read from the bucket.
        let backend = clients
            .backend(&config.aws)
            .with_blobs(clients.blobs(&config.aws));
        lambda::warm_up(backend.conversations.as_ref()).await;
        let consumer = Consumer {
            queue: backend.queue.clone(),
            name: QueueName::Outbound,
            max_retry_delay: config.max_retry_delay,
        };
        let mut channels = base_channels();
        if let Some(settings) = &config.telegram {
            let bot = lambda::telegram::bot(&clients, settings).await?;
            channels.insert(Channel::Telegram, bot as Arc<dyn ChannelSender>);
        }
        if let Some(settings) = &config.twilio {
            let account = lambda::telephony::twilio(&clients, settings).await?;
            if let Some(sms) = lambda::telephony::sms_sender(&account)? {
                channels.insert(Channel::Sms, Arc::new(sms) as Arc<dyn ChannelSender>);
            }
        }
        if let Some(email) = &config.email {
            // The reply token in each email's Reply-To is minted with the key the router
            // checks it with, kept in the table.
            let tokens = backend.reply_tokens().await?;
            let ses = SesSender::new(
                clients.sesv2().clone(),
                email.outbound.clone(),
                tokens,
                email.configuration_set.clone(),
            );
            channels.insert(Channel::Email, Arc::new(ses) as Arc<dyn ChannelSender>);
        }
        Ok((consumer, backend.sender(channels)))
    })
    .await?;
    consumer.run(|delivery| sender.handle(delivery)).await
}
