//! `telephony`: the Twilio webhooks (`/webhooks/twilio/{sms,status,voice,…}`) and the PBX
//! hook (`/webhooks/pbx`) behind API Gateway. Checks each caller's signature, normalizes
//! and puts the text or call on the inbound queue; MMS media and recordings are fetched
//! later, by the router.
#![forbid(unsafe_code)]

use shared::aws::AwsClients;
use shared::http::{ChannelState, pbx_router, twilio_router};
use shared::lambda::{self, Error, telephony};

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
        // The queue and what is known of a call so far (a PBX call's events, a Twilio
        // call's reported outcome, kept in the bucket) are all this function writes; the
        // one thing it reads of the store is the voice calendar, when one is named. It
        // hands out no customer links.
        let calendar = config
            .http
            .twilio
            .as_ref()
            .is_some_and(|t| t.voice.calendar.is_some());
        let state = ChannelState::new(
            clients.queue(&config.aws),
            clients.blobs(&config.aws),
            config.http,
        );
        Ok(match calendar {
            true => state.with_calendars(clients.store(&config.aws)),
            false => state,
        })
    })
    .await?;
    lambda::http::run(twilio_router().merge(pbx_router()), state).await
}
