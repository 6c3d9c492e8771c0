//! Replies out through `sendMessage`, and files in through `getFile`.

use super::client::BotApi;
use super::outbound::{MAX_TEXT_UNITS, escape_html, split_text};
use crate::model::{Channel, IdentityKind};
use crate::ports::{
    ChannelSender, FetchError, FetchedFile, FileFetcher, OutboundDelivery, SendError, Sent,
};
use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// The Bot API's pace (its FAQ): about 30 messages a second per bot, and no more than
/// about one a second in one chat. Keeping under it avoids most 429s in a burst.
const PER_BOT_PER_SECOND: u32 = 30;
const PER_CHAT_PER_SECOND: u32 = 1;

/// How long one part of a long reply may wait inline for a rate limit or an outage
/// once earlier parts are out (a retry of the whole reply would repeat them).
const INLINE_WAIT_LIMIT: Duration = Duration::from_secs(60);
const INLINE_ATTEMPTS: u32 = 4;

#[derive(Clone)]
pub struct TelegramSender {
    api: BotApi,
    per_bot: Arc<DefaultDirectRateLimiter>,
    per_chat: Arc<DefaultKeyedRateLimiter<i64>>,
}

impl std::fmt::Debug for TelegramSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramSender")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

impl TelegramSender {
    pub fn new(api: BotApi) -> Self {
        let quota = |n: u32| Quota::per_second(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Self {
            api,
            per_bot: Arc::new(RateLimiter::direct(quota(PER_BOT_PER_SECOND))),
            per_chat: Arc::new(RateLimiter::keyed(quota(PER_CHAT_PER_SECOND))),
        }
    }

    /// Waits for this chat's and the bot's turn.
    async fn pace(&self, chat_id: i64) {
        if self.per_chat.len() > 100_000 {
            self.per_chat.retain_recent();
        }
        self.per_chat.until_key_ready(&chat_id).await;
        self.per_bot.until_ready().await;
    }

    /// Sends one part; once earlier parts are out, waits out rate limits and outages
    /// here instead of failing the whole reply.
    async fn send_part(&self, chat_id: i64, html: &str, patient: bool) -> Result<i64, SendError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.pace(chat_id).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn one_chat_gets_at_most_one_message_a_second_and_other_chats_do_not_wait() {
        let api = BotApi::new("http://127.0.0.1:9", crate::config::Secret::new("1:x")).unwrap();
        let sender = TelegramSender::new(api);
        let started = Instant::now();
        for _ in 0..3 {
            sender.pace(42).await;
        }
        let one_chat = started.elapsed();
        assert!(one_chat >= Duration::from_millis(1900), "{one_chat:?}");
        let started = Instant::now();
        for chat in 0..20 {
            sender.pace(1000 + chat).await;
        }
        assert!(started.elapsed() < Duration::from_millis(900));
    }
}
