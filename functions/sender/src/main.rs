//! `sender`: drains the outbound queue (SQS event source, batches of 10, partial batch
//! failures), delivering each agent reply on its channel and recording the outcome.
#![forbid(unsafe_code)]

use shared::aws::{AwsClients, SesSender};
use shared::backend::base_channels;
use shared::lambda::{self, Error, sqs::Consumer};
use shared::model::Channel;
use shared::ports::{ChannelSender, QueueName};
use shared::services::page_link::{PageLinks, PageNotices};
use shared::services::surveys::SurveyPages;
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
        // Replies on customer pages also go by email or SMS, with the page's link: derived
        // from the link secret, under the public URL (the template gives the sender the
        // API's own when none is set).
        let sends_notices =
            channels.contains_key(&Channel::Email) || channels.contains_key(&Channel::Sms);
        let page_notices = match (&config.link_secret_parameter, &config.http.public_url) {
            (Some(parameter), Some(base_url)) if sends_notices => Some(PageNotices {
                links: PageLinks::new(clients.secret_parameter(parameter).await?.as_bytes()),
                base_url: base_url.clone(),
                language: config.http.page.language.clone(),
            }),
            _ => None,
        };
        // Surveys are asked in the pages' language; an email's links lead to them.
        let survey_pages = SurveyPages {
            base_url: config.http.public_url.clone().unwrap_or_default(),
            language: config.http.page.language.clone(),
        };
        Ok((
            consumer,
            backend
                .sender(channels)
                .with_page_notices(page_notices)
                .with_survey_pages(survey_pages),
        ))
    })
    .await?;
    consumer.run(|delivery| sender.handle(delivery)).await
}
