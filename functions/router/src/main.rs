//! `router`: drains the inbound FIFO queue (SQS event source, batches of 10, partial
//! batch failures) into the store: identity → contact → conversation → assignee, once.
#![forbid(unsafe_code)]

use shared::aws::AwsClients;
use shared::channels::email::EmailFiles;
use shared::lambda::{self, Error, sqs::Consumer};
use shared::model::Channel;
use shared::ports::{AgentMessenger, ButtonAnswerer, FileFetcher, QueueName};
use shared::services::router::Fetchers;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (consumer, router) = lambda::start(|config| async move {
        let clients = AwsClients::from_env()?;
        // Files that channels fetch behind the queue (Telegram's, Twilio's) are kept in the
        // bucket.
        let backend = clients
            .backend(&config.aws)
            .with_blobs(clients.blobs(&config.aws));
        // An email to a token address (`support+<token>@…`) joins the conversation the
        // token names, checked with the key the sender mints tokens with. Reading it is
        // also the first call to the table: it pays the SDK's first-call costs during init.
        let reply_tokens = backend.reply_tokens().await?;
        let consumer = Consumer {
            queue: backend.queue.clone(),
            name: QueueName::Inbound,
            max_retry_delay: config.max_retry_delay,
        };
        let mut fetchers = Fetchers::default();
        let mut messenger = None;
        let mut buttons = None;
        // An email's attachments are read back from the raw email `email-inbound` kept.
        fetchers.insert(
            Channel::Email,
            Arc::new(EmailFiles::new(backend.blobs.clone())) as Arc<dyn FileFetcher>,
        );
        if let Some(settings) = &config.telegram {
            let bot = lambda::telegram::bot(&clients, settings).await?;
            fetchers.insert(Channel::Telegram, bot.clone() as Arc<dyn FileFetcher>);
            // A customer's rating button is answered, so their app stops waiting.
            buttons = Some(bot.clone() as Arc<dyn ButtonAnswerer>);
            // An agent's link code is answered in their chat.
            messenger = Some(bot as Arc<dyn AgentMessenger>);
        }
        if let Some(settings) = &config.twilio {
            let account = lambda::telephony::twilio(&clients, settings).await?;
            // MMS media and voicemail recordings sit behind the account's credentials.
            let media = Arc::new(lambda::telephony::media_fetcher(&account)?);
            fetchers.insert(Channel::Sms, media.clone() as Arc<dyn FileFetcher>);
            fetchers.insert(Channel::Voice, media as Arc<dyn FileFetcher>);
        }
        let mut router = backend.router(config.route, fetchers).speaking(
            &config.http.page.language,
            config.http.public_url.as_deref(),
        );
        router.reply_tokens = Some(reply_tokens);
        router.messenger = messenger;
        router.buttons = buttons;
        Ok((consumer, Arc::new(router)))
    })
    .await?;
    consumer
        .run(|delivery| {
            let router = router.clone();
            async move { router.handle(delivery).await }
        })
        .await
}
