//! Replies out by SMTP, to the relay the local server is configured with
//! (`smtp://host:port` plain, `smtp://…?tls=required` STARTTLS, `smtps://` TLS).

use super::outbound::{OutboundSettings, agent_notice, build};
use super::thread::{ReplyTokens, provider_key};
use crate::config::Secret;
use crate::model::{Channel, EmailAddress};
use crate::ports::{AgentMailer, ChannelSender, OutboundDelivery, SendError, Sent};
use async_trait::async_trait;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    settings: OutboundSettings,
    tokens: ReplyTokens,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl SmtpSender {
    pub fn new(
        url: &Secret,
        settings: OutboundSettings,
        tokens: ReplyTokens,
    ) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
            .map_err(|e| format!("the SMTP URL is not usable: {e}"))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(Self {
            transport,
            settings,
            tokens,
        })
    }
}

#[async_trait]
impl ChannelSender for SmtpSender {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn sends_files(&self) -> bool {
        true
    }

    async fn send(&self, delivery: &OutboundDelivery) -> Result<Sent, SendError> {
        let email = build(delivery, &self.settings, &self.tokens)?;
        self.transport
            .send(email.message)
            .await
            .map_err(|e| classify(&e))?;
        Ok(Sent {
            provider_id: Some(provider_key(&email.message_id)),
            delivered: false,
        })
    }
}

/// An agent's notification, through the same relay as replies.
#[async_trait]
impl AgentMailer for SmtpSender {
    async fn mail(&self, to: &EmailAddress, subject: &str, text: &str) -> Result<(), SendError> {
        let message = agent_notice(&self.settings, to, subject, text)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| classify(&e))
    }
}

/// A 5xx answer is the relay refusing the message for good; anything else (a 4xx, a
/// connection refused or reset, a timeout, a TLS failure) may pass on a later try.
pub fn classify(error: &lettre::transport::smtp::Error) -> SendError {
    if error.is_permanent() {
        SendError::Permanent {
            reason: format!("the mail server refused the email: {error}"),
        }
    } else {
        SendError::Retryable {
            reason: format!("the mail server could not take the email now: {error}"),
            retry_after: None,
        }
    }
}
