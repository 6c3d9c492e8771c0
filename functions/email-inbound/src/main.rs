//! `email-inbound`: an SES receipt rule stores each email in the bucket and invokes this
//! function; it reads the email, weighs SES's verdicts and queues it for the router.
#![forbid(unsafe_code)]

use shared::aws::AwsClients;
use shared::channels::email::{InboundSettings, ParseSettings};
use shared::lambda::ses::SesIntake;
use shared::lambda::{self, Error};
use shared::services::email::EmailIntake;
use shared::services::ingest::Ingest;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let service = lambda::start(|config| async move {
        let intake = config.email_intake;
        let clients = AwsClients::from_env()?;
        let blobs = clients.blobs(&config.aws);
        let queue = clients.queue(&config.aws);
        Ok(SesIntake {
            prefix: intake.object_prefix,
            blobs: blobs.clone(),
            intake: EmailIntake {
                ingest: Ingest::new(queue),
                blobs,
                parse: ParseSettings {
                    own_domains: intake.own_domains,
                    max_attachment_bytes: intake.max_bytes as u64,
                },
                // Whether the sender is proven comes from each email's DMARC verdict.
                inbound: InboundSettings::default(),
            },
        })
    })
    .await?;
    lambda::email_inbound::run(service).await
}
