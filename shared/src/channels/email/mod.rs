//! The email channel: raw RFC 822 messages in, replies out.
//!
//! [`parse`] turns raw bytes into a [`ParsedEmail`] (bodies decoded to UTF-8, HTML
//! sanitized, the quoted history of a reply set apart, automatic mail and bounces
//! recognised); [`inbound`] turns that into the channel-neutral `InboundMessage`.

pub mod auto;
pub mod dsn;
pub mod files;
pub mod html;
pub mod inbound;
pub mod mbox;
pub mod outbound;
pub mod parse;
pub mod quote;
pub mod ses_events;
pub mod smtp;
pub mod thread;

pub use auto::Automated;
pub use dsn::Bounce;
pub use files::EmailFiles;
pub use inbound::{
    InboundSettings, NormalizeError, Normalized, bounce_report, normalize, raw_key, source_id,
};
pub use parse::{
    EmailAttachment, MAX_ATTACHMENTS, Mailbox, ParseError, ParseSettings, ParsedEmail,
    parse_attachments, parse_email,
};
pub use thread::ReplyTokens;

#[cfg(test)]
mod golden;
