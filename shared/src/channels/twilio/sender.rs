//! Replies out as SMS, and MMS media in, through the REST API.

use super::client::{Sms, TwilioApi};
use super::inbound::message_source;
use super::outbound::bodies;
use crate::config::{TwilioConfig, TwilioSender};
use crate::model::{Channel, IdentityKind};
use crate::ports::{
    ChannelSender, FetchError, FetchedFile, FileFetcher, OutboundDelivery, SendError, Sent,
};
use async_trait::async_trait;

/// The path Twilio reports delivery to.
pub const STATUS_PATH: &str = "/webhooks/twilio/status";

#[derive(Clone, Debug)]
pub struct SmsSender {
    api: TwilioApi,
    from: TwilioSender,
    /// None without a public URL: delivery is then not reported back.
    status_callback: Option<String>,
}

impl SmsSender {
    /// None when the account has no number or Messaging Service to send from.
    pub fn new(config: &TwilioConfig) -> Result<Option<Self>, String> {
        let api = TwilioApi::new(
            &config.api_url,
            &config.account_sid,
            config.auth_token.clone(),
        )?;
        Ok(config.sender.clone().map(|from| Self {
            api,
            from,
            status_callback: config.public(STATUS_PATH),
        }))
    }
}

#[async_trait]
impl ChannelSender for SmsSender {
    fn channel(&self) -> Channel {
        Channel::Sms
    }

    /// The first body's SID is the reply's provider id: its status callbacks update
    /// the reply; a long reply's later bodies are not tracked.
    async fn send(&self, delivery: &OutboundDelivery) -> Result<Sent, SendError> {
        let to = delivery
            .recipient
            .as_ref()
            .filter(|r| r.kind == IdentityKind::Phone)
            .map(|r| r.value.as_str())
            .ok_or_else(|| SendError::Permanent {
                reason: "the contact has no phone number".into(),
            })?;
        let parts = bodies(&delivery.message.text);
        let total = parts.len();
        let mut first = None;
        for (n, body) in parts.iter().enumerate() {
            let sms = Sms {
                to,
                from: &self.from,
                body,
                status_callback: self.status_callback.as_deref().filter(|_| n == 0),
            };
            match self.api.send_sms(&sms).await {
                Ok(sid) => {
                    first.get_or_insert(sid);
                }
                // Nothing went out yet: the whole reply can be retried safely.
                Err(e) if n == 0 => return Err(e),
                Err(e) => {
                    return Err(SendError::Permanent {
                        reason: format!("only {n} of {total} parts were sent: {e}"),
                    });
                }
            }
        }
        Ok(Sent {
            provider_id: first.map(|sid| message_source(&sid).as_str().to_owned()),
            delivered: false,
        })
    }
}

/// Fetches the media of incoming MMS, with the account's credentials.
#[derive(Clone, Debug)]
pub struct MediaFetcher(pub TwilioApi);

#[async_trait]
impl FileFetcher for MediaFetcher {
    async fn fetch(&self, url: &str, max_bytes: u64) -> Result<FetchedFile, FetchError> {
        let (bytes, content_type) = self.0.fetch_media(url, max_bytes).await?;
        Ok(FetchedFile {
            bytes,
            content_type: content_type.filter(|t| t != "application/octet-stream"),
        })
    }
}
