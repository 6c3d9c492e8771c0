//! `telephony`: the Twilio webhooks (`/webhooks/twilio/{sms,status,voice,…}`) and the PBX
//! hook (`/webhooks/pbx`) behind API Gateway. Checks each caller's signature, normalizes
//! and puts the text or call on the inbound queue; MMS media and recordings are fetched
//! later, by the router.
#![forbid(unsafe_code)]

use shared::aws::AwsClients;
use shared::backend::{base_channels, reply_channels};
use shared::http::{pbx_router, twilio_router};
use shared::lambda::{self, Error, telephony};
use shared::services::directory::new_secret;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let state = lambda::start(|mut config| async move {
        if config.twilio.is_none() && config.pbx.is_none() {
            return Err("neither SWITCHBOARD_TWILIO_ACCOUNT_SID nor \
                        SWITCHBOARD_PBX_SECRET_PARAMETER is set: there is nothing to answer"
                .into());
        }
        let clients = AwsClients::from_env()?;
        // Reading the secrets also pays the SDK's first-call costs (credentials, TLS)
        // here, in init, rather than in the first call.
        if let Some(settings) = &config.twilio {
            config.http.twilio = Some(telephony::twilio(&clients, settings).await?);
        }
        if let Some(settings) = &config.pbx {
            config.http.pbx = Some(telephony::pbx(&clients, settings).await?);
        }
        // What is known of a call so far (a PBX call's events, a Twilio call's reported
        // outcome) is kept in the bucket.
        let backend = clients
            .backend(&config.aws)
            .with_blobs(clients.blobs(&config.aws));
        // The queue and the call notes are all this function writes; it hands out no
        // customer links.
        let (unused_link_secret, _) = new_secret("");
        Ok(backend.app_state(
            config.http,
            unused_link_secret.as_bytes(),
            &reply_channels(&base_channels()),
        ))
    })
    .await?;
    lambda::http::run(twilio_router().merge(pbx_router()), state).await
}
