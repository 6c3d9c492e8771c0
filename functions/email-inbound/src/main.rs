//! `email-inbound`: an SES receipt rule stores each email in the bucket and invokes this
//! function; it reads the email, weighs SES's verdicts and queues it for the router.
#![forbid(unsafe_code)]

use shared::aws::AwsClients;
use shared::channels::email::{InboundSettings, ParseSettings};
use shared::lambda::ses::{PREFIX_VARIABLE, SesIntake};
use shared::lambda::{self, Error};
use shared::services::email::EmailIntake;
use shared::services::ingest::Ingest;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let service = lambda::start(|config| async move {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let prefix = var(PREFIX_VARIABLE).unwrap_or_else(|| "email/ses/".to_owned());
        let max_bytes = match var("SWITCHBOARD_EMAIL_MAX_BYTES") {
            Some(v) => v
                .parse()
                .map_err(|_| format!("SWITCHBOARD_EMAIL_MAX_BYTES: not a number: {v}"))?,
            None => shared::config::DEFAULT_EMAIL_MAX_BYTES as u64,
        };
        let own_domains = var("SWITCHBOARD_EMAIL_DOMAINS")
            .map(|v| {
                v.split(',')
                    .map(|d| d.trim().to_ascii_lowercase())
                    .filter(|d| !d.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let clients = AwsClients::from_env()?;
        let blobs = clients.blobs(&config.aws);
        let queue = clients.queue(&config.aws);
        Ok(SesIntake {
            prefix,
            blobs: blobs.clone(),
            intake: EmailIntake {
                ingest: Ingest::new(queue),
                blobs,
                parse: ParseSettings {
                    own_domains,
                    max_attachment_bytes: max_bytes,
                },
                // Whether the sender is proven comes from each email's DMARC verdict.
                inbound: InboundSettings::default(),
            },
        })
    })
    .await?;
    lambda::email_inbound::run(service).await
}
