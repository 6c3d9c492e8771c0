//! `sweeper`: every minute (an EventBridge schedule), the time-driven changes: snoozed
//! conversations whose time has come reopen, SLA clocks move on from the event log and
//! their breaches are told, agents are notified on Telegram, and, with a retention period, resolved
//! conversations past it are erased with their files.
#![forbid(unsafe_code)]

use shared::aws::{AwsClients, SesSender};
use shared::lambda::schedule::Sweeper;
use shared::lambda::{self, Error, schedule};
use shared::ports::{AgentMailer, AgentMessenger};
use shared::services::rights::Rights;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let sweeper = lambda::start(|config| async move {
        let clients = AwsClients::from_env()?;
        let store = clients.store(&config.aws);
        lambda::warm_up(store.as_ref()).await;
        // The store alone, unless retention erases: then the bucket too (its files).
        let retention = config.retention.map(|retention| {
            let rights = Rights::new(store.clone(), clients.blobs(&config.aws));
            (rights, retention)
        });
        // Agents who linked their Telegram chat hear there what needs them, and by email
        // those who chose it, where replies go by email.
        let messenger = match &config.telegram {
            Some(settings) => {
                Some(lambda::telegram::bot(&clients, settings).await? as Arc<dyn AgentMessenger>)
            }
            None => None,
        };
        let backend = clients.backend(&config.aws);
        let mailer = match &config.email {
            Some(email) => Some(Arc::new(SesSender::new(
                clients.sesv2().clone(),
                email.outbound.clone(),
                backend.reply_tokens().await?,
                email.configuration_set.clone(),
            )) as Arc<dyn AgentMailer>),
            None => None,
        };
        let notifier = backend.notifier(messenger, mailer);
        let away_after_idle = config
            .away_after_idle
            .map(|idle| (store.clone() as Arc<dyn shared::ports::AgentStore>, idle));
        Ok(Sweeper {
            surveys: backend.survey_keeper(),
            incidents: backend.incident_keeper(),
            notifier,
            away_after_idle,
            conversations: store.clone(),
            contacts: store.clone(),
            slas: store.clone(),
            rules: store.clone(),
            reports: store.clone(),
            feed: store,
            retention,
        })
    })
    .await?;
    schedule::run(sweeper).await
}
