//! Replies out through `sendMessage`, and files in through `getFile`.

use super::client::BotApi;
use super::outbound::{MAX_TEXT_UNITS, escape_html, split_text};
use crate::model::{Channel, IdentityKind};
use crate::ports::{
    ChannelSender, FetchError, FetchedFile, FileFetcher, OutboundDelivery, SendError, Sent,
};
use async_trait::async_trait;
use std::time::Duration;

/// How long one part of a long reply may wait inline for a rate limit or an outage
/// once earlier parts are out (a retry of the whole reply would repeat them).
const INLINE_WAIT_LIMIT: Duration = Duration::from_secs(60);
const INLINE_ATTEMPTS: u32 = 4;

#[derive(Clone, Debug)]
pub struct TelegramSender {
    api: BotApi,
}

impl TelegramSender {
    pub fn new(api: BotApi) -> Self {
        Self { api }
    }

    /// Sends one part; once earlier parts are out, waits out rate limits and outages
    /// here instead of failing the whole reply.
    async fn send_part(&self, chat_id: i64, html: &str, patient: bool) -> Result<i64, SendError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.api.send_message(chat_id, html).await {
                Ok(sent) => return Ok(sent.message_id),
                Err(SendError::Retryable {
                    reason,
                    retry_after,
                }) if patient && attempt < INLINE_ATTEMPTS => {
                    let wait = retry_after
                        .unwrap_or_else(|| Duration::from_secs(1 << attempt))
                        .min(INLINE_WAIT_LIMIT);
                    tracing::warn!(%reason, wait_secs = wait.as_secs(), "Telegram part delayed");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[async_trait]
impl ChannelSender for TelegramSender {
    fn channel(&self) -> Channel {
        Channel::Telegram
    }

    async fn send(&self, delivery: &OutboundDelivery) -> Result<Sent, SendError> {
        let chat_id = delivery
            .recipient
            .as_ref()
            .filter(|r| r.kind == IdentityKind::Telegram)
            .and_then(|r| r.value.parse::<i64>().ok())
            .ok_or_else(|| SendError::Permanent {
                reason: "the contact has no Telegram chat".into(),
            })?;
        let parts = split_text(&delivery.message.text, MAX_TEXT_UNITS);
        let total = parts.len();
        let mut first_id = None;
        for (n, part) in parts.iter().enumerate() {
            match self.send_part(chat_id, &escape_html(part), n > 0).await {
                Ok(id) => {
                    first_id.get_or_insert(id);
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
            provider_id: first_id.map(|id| super::message_source(chat_id, id).as_str().to_owned()),
            delivered: false,
        })
    }
}

#[async_trait]
impl FileFetcher for TelegramSender {
    async fn fetch(&self, file_id: &str, max_bytes: u64) -> Result<FetchedFile, FetchError> {
        let convert = |e: SendError| match e {
            SendError::Retryable { reason, .. } => FetchError::Retryable(reason),
            SendError::Permanent { reason } => FetchError::Permanent(reason),
        };
        let file = self.api.get_file(file_id).await.map_err(convert)?;
        if file.file_size.is_some_and(|size| size > max_bytes) {
            return Err(FetchError::Permanent(format!(
                "larger than {} MB: not downloaded",
                max_bytes / 1024 / 1024
            )));
        }
        let path = file
            .file_path
            .ok_or_else(|| FetchError::Permanent("Telegram gave no path for the file".into()))?;
        let (bytes, content_type) = self.api.download(&path, max_bytes).await.map_err(convert)?;
        Ok(FetchedFile {
            bytes,
            content_type: content_type.filter(|t| t != "application/octet-stream"),
        })
    }
}
