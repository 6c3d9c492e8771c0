//! Replies by email through Amazon SES v2 `SendEmail`, as a raw MIME message: the same
//! message the SMTP sender builds (text and HTML parts, files, `In-Reply-To`, the
//! tokenized `Reply-To`), with a configuration set for bounce and complaint events.
//!
//! SES replaces our Message-ID with its own: the id `SendEmail` returns is stored as the
//! reply's provider id, in the form customers' answers name it
//! (`<id>@email.amazonses.com`, any regional host matching; see
//! `channels::email::thread::provider_key`).
//! <https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html>

use super::errors;
use crate::channels::email::outbound::{OutboundSettings, agent_notice, build};
use crate::channels::email::thread::{ReplyTokens, provider_key};
use crate::model::{Channel, EmailAddress};
use crate::ports::{AgentMailer, ChannelSender, OutboundDelivery, PortError, SendError, Sent};
use async_trait::async_trait;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{EmailContent, RawMessage};

/// SES quota errors that pass with time (the sending rate, the daily quota).
const LATER: &[&str] = &["TooManyRequestsException", "LimitExceededException"];

#[derive(Debug)]
pub struct SesSender {
    client: aws_sdk_sesv2::Client,
    outbound: OutboundSettings,
    tokens: ReplyTokens,
    configuration_set: Option<String>,
}

impl SesSender {
    pub fn new(
        client: aws_sdk_sesv2::Client,
        outbound: OutboundSettings,
        tokens: ReplyTokens,
        configuration_set: Option<String>,
    ) -> Self {
        Self {
            client,
            outbound,
            tokens,
            configuration_set: configuration_set.filter(|s| !s.is_empty()),
        }
    }
}

#[async_trait]
impl ChannelSender for SesSender {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn sends_files(&self) -> bool {
        true
    }

    async fn send(&self, delivery: &OutboundDelivery) -> Result<Sent, SendError> {
        let email = build(delivery, &self.outbound, &self.tokens)?;
        let id = self.send_raw(email.message.formatted()).await?;
        Ok(Sent {
            provider_id: Some(provider_key(&format!("{id}@email.amazonses.com"))),
            delivered: false,
        })
    }
}

impl SesSender {
    /// Sends a whole MIME message; SES's id for it.
    async fn send_raw(&self, formatted: Vec<u8>) -> Result<String, SendError> {
        let raw = RawMessage::builder()
            .data(Blob::new(formatted))
            .build()
            .map_err(|e| SendError::Permanent {
                reason: format!("the email could not be built: {e}"),
            })?;
        let mut request = self
            .client
            .send_email()
            .content(EmailContent::builder().raw(raw).build());
        if let Some(set) = &self.configuration_set {
            request = request.configuration_set_name(set);
        }
        match request.send().await {
            Ok(output) => {
                output
                    .message_id()
                    .map(str::to_owned)
                    .ok_or_else(|| SendError::Retryable {
                        reason: "SES took the email without giving its id".into(),
                        retry_after: None,
                    })
            }
            Err(e) => {
                let code = e.code().map(str::to_owned);
                Err(classify(code.as_deref(), errors::sdk("sesv2:SendEmail", e)))
            }
        }
    }
}

/// An agent's notification, from the replies' From address.
#[async_trait]
impl AgentMailer for SesSender {
    async fn mail(&self, to: &EmailAddress, subject: &str, text: &str) -> Result<(), SendError> {
        let message = agent_notice(&self.outbound, to, subject, text)?;
        self.send_raw(message.formatted()).await.map(|_| ())
    }
}

/// Throttling, quotas and outages are retried; a rejected message, an unverified
/// sender or a paused account is the agent's to see.
fn classify(code: Option<&str>, error: PortError) -> SendError {
    match error {
        PortError::Unavailable(reason) => SendError::Retryable {
            reason,
            retry_after: None,
        },
        _ if code.is_some_and(|c| LATER.contains(&c)) => SendError::Retryable {
            reason: error.to_string(),
            retry_after: None,
        },
        other => SendError::Permanent {
            reason: format!("SES refused the email: {other}"),
        },
    }
}
