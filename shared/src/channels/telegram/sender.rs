//! Replies out through `sendMessage`, and files in through `getFile`.

use super::client::BotApi;
use super::outbound::{
    FileKind, MAX_TEXT_UNITS, caption_of, escape_html, group_message, split_text,
};
use super::wire::{InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters};
use crate::model::{Channel, IdentityKind, MessageId};
use crate::ports::{
    AgentMessenger, ButtonAnswerer, ChannelSender, FetchError, FetchedFile, FileFetcher,
    OutboundDelivery, OutboundFile, SendError, Sent,
};
use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The Bot API's pace (its FAQ): about 30 messages a second per bot, and no more than
/// about one a second in one chat. Keeping under it avoids most 429s in a burst. Sends
/// are spaced evenly (no burst allowance), so no second ever holds more than 30 of a
/// bot's messages or more than one of a chat's.
const PER_BOT_PER_SECOND: u32 = 30;
const PER_CHAT_GAP: Duration = Duration::from_secs(1);

/// How long one part of a long reply may wait inline for a rate limit or an outage
/// once earlier parts are out (a retry of the whole reply would repeat them).
const INLINE_WAIT_LIMIT: Duration = Duration::from_secs(60);
const INLINE_ATTEMPTS: u32 = 4;

#[derive(Clone)]
pub struct TelegramSender {
    api: BotApi,
    per_bot: Arc<DefaultDirectRateLimiter>,
    per_chat: Arc<DefaultKeyedRateLimiter<i64>>,
    /// The bot's pace once more, right before each call: a turn taken ahead (before
    /// the reply is marked sending) and the call may be apart by a store write, and
    /// calls must not bunch at Telegram.
    per_bot_call: Arc<DefaultDirectRateLimiter>,
    /// Replies whose turn was taken ahead of their send (`wait_turn`).
    early: Arc<Mutex<HashSet<MessageId>>>,
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
        Self::sharing_pace(api, 1)
    }

    /// A sender that is one of `senders` processes replying for the same bot at once:
    /// each keeps to its share of the bot's pace, so together they stay within it.
    pub fn sharing_pace(api: BotApi, senders: u32) -> Self {
        // One send per period, bursts of one: the periods are non-zero.
        let spaced = |period: Duration| {
            Quota::with_period(period)
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                .allow_burst(NonZeroU32::MIN)
        };
        Self {
            api,
            per_bot: Arc::new(RateLimiter::direct(spaced(
                Duration::from_secs(u64::from(senders.max(1))) / PER_BOT_PER_SECOND,
            ))),
            per_chat: Arc::new(RateLimiter::keyed(spaced(PER_CHAT_GAP))),
            per_bot_call: Arc::new(RateLimiter::direct(spaced(
                Duration::from_secs(u64::from(senders.max(1))) / PER_BOT_PER_SECOND,
            ))),
            early: Arc::default(),
        }
    }

    /// Whether `id`'s turn was taken ahead of its send; it is used up.
    fn paced_early(&self, id: MessageId) -> bool {
        self.early
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)
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
    async fn send_part(
        &self,
        chat_id: i64,
        part: &Part<'_>,
        patient: bool,
        reply: Option<ReplyParameters>,
        mut paced: bool,
    ) -> Result<i64, SendError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            if !std::mem::take(&mut paced) {
                self.pace(chat_id).await;
            }
            self.per_bot_call.until_ready().await;
            let sent = match part {
                Part::Text(html) => self.api.send_message(chat_id, html, reply).await,
                Part::File { file, caption } => {
                    let kind = FileKind::of(&file.content_type, file.bytes.len());
                    self.api
                        .send_file(kind, chat_id, file, caption.as_deref(), reply)
                        .await
                }
            };
            match sent {
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

    /// Sends the parts in order; the first one answers `target.reply`.
    async fn send_parts(
        &self,
        target: &Target,
        parts: &[Part<'_>],
        paced: bool,
    ) -> Result<Sent, SendError> {
        let total = parts.len();
        let mut first_id = None;
        for (n, part) in parts.iter().enumerate() {
            let reply = if n == 0 { target.reply } else { None };
            match self
                .send_part(target.chat_id, part, n > 0, reply, paced && n == 0)
                .await
            {
                Ok(id) => {
                    first_id.get_or_insert(id);
                }
                // Nothing went out yet: the whole reply can be retried safely.
                Err(e) if n == 0 => return Err(e),
                Err(SendError::Unreachable { reason }) => {
                    return Err(SendError::Unreachable {
                        reason: format!("only {n} of {total} parts were sent: {reason}"),
                    });
                }
                Err(e) => {
                    return Err(SendError::Permanent {
                        reason: format!("only {n} of {total} parts were sent: {e}"),
                    });
                }
            }
        }
        Ok(Sent {
            provider_id: first_id.map(|id| {
                super::message_source(target.chat_id, id)
                    .as_str()
                    .to_owned()
            }),
            delivered: false,
        })
    }
}

/// One Bot API message of a reply.
enum Part<'a> {
    /// HTML for `sendMessage`.
    Text(String),
    /// A file for `sendPhoto` or `sendDocument`, with its caption as HTML.
    File {
        file: &'a OutboundFile,
        caption: Option<String>,
    },
}

/// A reply as Bot API messages: the text as the first file's caption when it fits,
/// else the text first (in as many messages as it needs), then each file.
fn parts_of(delivery: &OutboundDelivery) -> Vec<Part<'_>> {
    let text = delivery.message.text.as_str();
    let files = &delivery.files;
    let caption = if files.is_empty() {
        None
    } else {
        caption_of(text)
    };
    let mut parts = Vec::new();
    if caption.is_none() && (files.is_empty() || !text.trim().is_empty()) {
        parts.extend(
            split_text(text, MAX_TEXT_UNITS)
                .iter()
                .map(|part| Part::Text(escape_html(part))),
        );
    }
    for (n, file) in files.iter().enumerate() {
        parts.push(Part::File {
            file,
            caption: caption.filter(|_| n == 0).map(escape_html),
        });
    }
    parts
}

/// Where a reply goes: the customer's private chat, or, when it answers what they wrote
/// in a group, that group, quoting their message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Target {
    chat_id: i64,
    reply: Option<ReplyParameters>,
    group: bool,
}

impl Target {
    fn of(delivery: &OutboundDelivery) -> Result<Self, SendError> {
        let group = delivery
            .answering
            .as_ref()
            .and_then(|m| m.source_id.as_ref())
            .and_then(|source| group_message(source.as_str()));
        if let Some((chat_id, message_id)) = group {
            return Ok(Self {
                chat_id,
                reply: Some(ReplyParameters::to(message_id)),
                group: true,
            });
        }
        let chat_id = delivery
            .recipient
            .as_ref()
            .filter(|r| r.kind == IdentityKind::Telegram)
            .and_then(|r| r.value.parse::<i64>().ok())
            .ok_or_else(|| SendError::Permanent {
                reason: "the contact has no Telegram chat".into(),
            })?;
        Ok(Self {
            chat_id,
            reply: None,
            group: false,
        })
    }
}

impl TelegramSender {
    /// A short text with a row of buttons under it (a survey's ratings).
    async fn send_with_buttons(
        &self,
        target: &Target,
        delivery: &OutboundDelivery,
    ) -> Result<Sent, SendError> {
        let keyboard = InlineKeyboardMarkup {
            inline_keyboard: vec![
                delivery
                    .choices
                    .iter()
                    .map(|c| InlineKeyboardButton {
                        text: c.label.clone(),
                        callback_data: c.data.clone(),
                    })
                    .collect(),
            ],
        };
        if !self.paced_early(delivery.message.id) {
            self.pace(target.chat_id).await;
        }
        self.per_bot_call.until_ready().await;
        let sent = self
            .api
            .send_message_with(
                target.chat_id,
                &escape_html(&delivery.message.text),
                target.reply,
                Some(keyboard),
            )
            .await?;
        Ok(Sent {
            provider_id: Some(
                super::message_source(target.chat_id, sent.message_id)
                    .as_str()
                    .to_owned(),
            ),
            delivered: false,
        })
    }
}

/// A customer's press of a button: answered at once, so their app stops waiting.
#[async_trait]
impl ButtonAnswerer for TelegramSender {
    async fn answer_button(&self, press_id: &str, text: &str) -> Result<(), SendError> {
        self.api
            .answer_callback_query(press_id, text)
            .await
            .map(|_| ())
    }
}

/// An agent's notification: one short text to the chat they linked, paced like replies.
#[async_trait]
impl AgentMessenger for TelegramSender {
    async fn tell(&self, chat_id: i64, text: &str) -> Result<(), SendError> {
        let part = Part::Text(escape_html(text));
        self.send_part(chat_id, &part, false, None, false)
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl ChannelSender for TelegramSender {
    fn channel(&self) -> Channel {
        Channel::Telegram
    }

    fn sends_files(&self) -> bool {
        true
    }

    async fn wait_turn(&self, delivery: &OutboundDelivery) {
        let Ok(target) = Target::of(delivery) else {
            return;
        };
        self.pace(target.chat_id).await;
        let mut early = self.early.lock().unwrap_or_else(|p| p.into_inner());
        // Turns taken for replies that then were not sent (another attempt had them).
        if early.len() > 10_000 {
            early.clear();
        }
        early.insert(delivery.message.id);
    }

    async fn send(&self, delivery: &OutboundDelivery) -> Result<Sent, SendError> {
        let target = Target::of(delivery)?;
        let sent = if delivery.choices.is_empty() {
            let paced = self.paced_early(delivery.message.id);
            self.send_parts(&target, &parts_of(delivery), paced).await
        } else {
            self.send_with_buttons(&target, delivery).await
        };
        match sent {
            // A 403 in a group means the bot was removed from it, not that this
            // customer blocked the bot.
            Err(SendError::Unreachable { reason }) if target.group => Err(SendError::Permanent {
                reason: format!("the bot cannot write in the group: {reason}"),
            }),
            other => other,
        }
    }
}

#[async_trait]
impl FileFetcher for TelegramSender {
    async fn fetch(&self, file_id: &str, max_bytes: u64) -> Result<FetchedFile, FetchError> {
        let convert = |e: SendError| match e {
            SendError::Retryable { reason, .. } => FetchError::Retryable(reason),
            SendError::Permanent { reason } | SendError::Unreachable { reason } => {
                FetchError::Permanent(reason)
            }
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

    #[tokio::test]
    async fn a_burst_to_many_chats_is_spaced_to_thirty_a_second() {
        let api = BotApi::new("http://127.0.0.1:9", crate::config::Secret::new("1:x")).unwrap();
        let sender = TelegramSender::new(api);
        let started = Instant::now();
        for chat in 0..31 {
            sender.pace(chat).await;
        }
        // 31 sends need 30 gaps of 1/30 s: no second holds more than 30.
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(990), "{elapsed:?}");
    }

    #[tokio::test]
    async fn two_senders_of_one_bot_each_keep_to_half_its_pace() {
        let api = BotApi::new("http://127.0.0.1:9", crate::config::Secret::new("1:x")).unwrap();
        let sender = TelegramSender::sharing_pace(api, 2);
        let started = Instant::now();
        for chat in 0..16 {
            sender.pace(chat).await;
        }
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(990), "{elapsed:?}");
    }
}
