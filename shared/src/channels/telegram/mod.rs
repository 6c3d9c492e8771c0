//! The Telegram channel: a bot customers write to, answered from the inbox.
//!
//! Updates arrive at `POST /webhooks/telegram` ([`inbound`]); replies leave through
//! `sendMessage` and files come in through `getFile` ([`sender`], over [`client`]).

pub mod client;
pub mod inbound;
pub mod outbound;
pub mod sender;
pub mod wire;

pub use client::BotApi;
pub use inbound::{InboundSettings, Normalized, message_source, normalize, parse_update};
pub use sender::TelegramSender;
