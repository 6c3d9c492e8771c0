//! Raw RFC 822 bytes → [`ParsedEmail`], with `mail-parser` doing MIME, transfer
//! encodings, charsets (windows-1256, ISO-8859-6, …) and encoded words. Never panics:
//! any input is either an email or a [`ParseError`].

use super::auto::{self, Automated};
use super::dsn::{self, Bounce};
use super::quote::split_quoted;
use crate::model::EmailAddress;
use chrono::{DateTime, Utc};
use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders, PartType};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// At most this many attachments are kept per email; the rest are dropped, counted in
/// [`ParsedEmail::attachments_dropped`] (the agent sees a note) and logged. A mail of
/// thousands of tiny MIME parts must not become thousands of files to fetch.
pub const MAX_ATTACHMENTS: usize = 100;

/// What the parser is told about us.
#[derive(Clone, Debug)]
pub struct ParseSettings {
    /// Our own mail domains, lower-case: mail from them is never answered.
    pub own_domains: Vec<String>,
    /// Attachments larger than this keep their name, type and size but not their bytes.
    pub max_attachment_bytes: u64,
}

impl Default for ParseSettings {
    fn default() -> Self {
        Self {
            own_domains: Vec::new(),
            max_attachment_bytes: 10 * 1024 * 1024,
        }
    }
}

/// A sender or recipient: the address lower-cased, the display name decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mailbox {
    pub address: EmailAddress,
    pub name: Option<String>,
}

/// A file that came with an email.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EmailAttachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub size: u64,
    /// Shown inside the HTML body (`Content-ID`, `Content-Disposition: inline`).
    pub inline: bool,
    /// Without `<>`.
    pub content_id: Option<String>,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Larger than the limit: `bytes` is empty.
    pub too_large: bool,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// One email, decoded to UTF-8 and ready to normalize.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParsedEmail {
    pub from: Option<Mailbox>,
    pub reply_to: Option<Mailbox>,
    /// Every address in `To` and `Cc`, lower-case (a reply token is looked for there).
    pub recipients: Vec<String>,
    pub subject: Option<String>,
    /// Without `<>`.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub date: Option<DateTime<Utc>>,
    /// The whole text body: the text part, or the HTML part turned into text.
    pub text: String,
    /// `text` without the quoted history of a reply.
    pub new_text: String,
    pub quoted: Option<String>,
    /// The HTML body, sanitized: safe for any client to render.
    pub html: Option<String>,
    pub attachments: Vec<EmailAttachment>,
    /// Attachments past [`MAX_ATTACHMENTS`], not kept.
    #[serde(skip_serializing_if = "is_zero")]
    pub attachments_dropped: usize,
    pub automated: Option<Automated>,
    pub bounce: Option<Bounce>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the body is empty")]
    Empty,
    #[error("the body is not an email: no headers were found")]
    NotAnEmail,
    #[error("the email's MIME structure could not be parsed")]
    Malformed,
}

pub fn parse_email(raw: &[u8], settings: &ParseSettings) -> Result<ParsedEmail, ParseError> {
    let message = parse_mime(raw)?;
    let from = first_mailbox(message.from());
    let from_domain = from.as_ref().and_then(|m| {
        m.address
            .as_str()
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
    });
    let bounce = dsn::detect(&message);
    let automated = if bounce.is_some() {
        Some(Automated::Bounce)
    } else {
        auto::detect(&message, from_domain.as_deref(), &settings.own_domains)
    };
    let (attachments, attachments_dropped) = attachments(&message, settings.max_attachment_bytes);
    let text = text_body(&message);
    let split = split_quoted(&text);
    Ok(ParsedEmail {
        reply_to: first_mailbox(message.reply_to()),
        recipients: recipients(&message),
        subject: message
            .subject()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        message_id: message.message_id().map(clean_id).filter(|s| !s.is_empty()),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        date: message
            .date()
            .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0)),
        new_text: split.new_text,
        quoted: split.quoted,
        html: html_body(&message),
        attachments,
        attachments_dropped,
        from,
        text,
        automated,
        bounce,
    })
}

/// Only the attachments of a raw email, as [`parse_email`] lists them (same order, same
/// cap), without decoding the bodies, splitting quotes or sanitizing HTML.
pub fn parse_attachments(raw: &[u8], max_bytes: u64) -> Result<Vec<EmailAttachment>, ParseError> {
    Ok(attachments(&parse_mime(raw)?, max_bytes).0)
}

fn parse_mime(raw: &[u8]) -> Result<Message<'_>, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    // mail-parser 0.11.9 has a `debug_assert!` that fires on some broken multipart
    // nesting ("Invalid part ID, could not find multipart.", found by the fuzz target):
    // a build with debug assertions refuses such an email instead of panicking. Release
    // builds (the Lambda functions, which abort on panic) never reach it: there the
    // parser stops at the broken part and keeps what came before.
    let message =
        std::panic::catch_unwind(|| MessageParser::default().parse(raw)).map_err(|_| {
            tracing::warn!(bytes = raw.len(), "the MIME parser panicked on an email");
            ParseError::Malformed
        })?;
    message
        .filter(|m| m.headers().iter().any(|h| !h.name.is_other()))
        .ok_or(ParseError::NotAnEmail)
}

fn first_mailbox(address: Option<&Address<'_>>) -> Option<Mailbox> {
    address?.iter().find_map(|addr| {
        let email = EmailAddress::parse(addr.address()?).ok()?;
        Some(Mailbox {
            address: email,
            name: addr
                .name()
                .map(|n| n.trim().trim_matches('"').trim().to_owned())
                .filter(|n| !n.is_empty()),
        })
    })
}

fn recipients(message: &Message<'_>) -> Vec<String> {
    let mut out: Vec<String> = message
        .to()
        .into_iter()
        .chain(message.cc())
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address())
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .collect();
    out.dedup();
    out
}

fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_owned()
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let list: Vec<String> = match value {
        HeaderValue::Text(t) => vec![clean_id(t)],
        HeaderValue::TextList(l) => l.iter().map(|t| clean_id(t)).collect(),
        _ => Vec::new(),
    };
    list.into_iter().filter(|s| !s.is_empty()).collect()
}

fn text_body(message: &Message<'_>) -> String {
    let bodies: Vec<String> = (0..message.text_body_count())
        .filter_map(|i| message.body_text(i))
        .map(|t| t.replace("\r\n", "\n"))
        .filter(|t| !t.trim().is_empty())
        .collect();
    bodies.join("\n\n").trim_end().to_owned()
}

fn html_body(message: &Message<'_>) -> Option<String> {
    let html: Vec<&str> = message
        .html_bodies()
        .filter_map(|part| match &part.body {
            PartType::Html(html) => Some(html.as_ref()),
            _ => None,
        })
        .collect();
    if html.is_empty() {
        return None;
    }
    super::html::sanitize(&html.join("\n"))
}

/// The kept attachments and how many were dropped past [`MAX_ATTACHMENTS`].
fn attachments(message: &Message<'_>, max_bytes: u64) -> (Vec<EmailAttachment>, usize) {
    let parts = message
        .attachments()
        .filter(|part| !matches!(part.body, PartType::Multipart(_)));
    let mut kept = Vec::new();
    let mut dropped = 0usize;
    for part in parts {
        if kept.len() >= MAX_ATTACHMENTS {
            dropped += 1;
            continue;
        }
        kept.push(part);
    }
    if dropped > 0 {
        tracing::warn!(
            dropped,
            kept = MAX_ATTACHMENTS,
            "an email had more attachments than are kept; the rest were dropped"
        );
    }
    let kept = kept
        .into_iter()
        .map(|part| {
            let contents = part.contents();
            let size = contents.len() as u64;
            let too_large = size > max_bytes;
            let content_type = part.content_type().map_or_else(
                || "application/octet-stream".to_owned(),
                |ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
                    None => ct.ctype().to_ascii_lowercase(),
                },
            );
            let disposition_inline = part
                .content_disposition()
                .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline"));
            let content_id = part.content_id().map(clean_id).filter(|c| !c.is_empty());
            EmailAttachment {
                filename: part
                    .attachment_name()
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty()),
                content_type,
                size,
                inline: content_id.is_some() || disposition_inline,
                content_id,
                sha256: hex::encode(Sha256::digest(contents)),
                too_large,
                bytes: if too_large {
                    Vec::new()
                } else {
                    contents.to_vec()
                },
            }
        })
        .collect();
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn many_parts(n: usize) -> Vec<u8> {
        let mut raw = String::from(
            "From: a@example.com\r\nSubject: files\r\nMessage-ID: <many@example.com>\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nsee the files\r\n",
        );
        for i in 0..n {
            raw.push_str(&format!(
                "--b\r\nContent-Type: text/plain\r\n\
                 Content-Disposition: attachment; filename=\"f{i}.txt\"\r\n\r\nfile {i}\r\n"
            ));
        }
        raw.push_str("--b--\r\n");
        raw.into_bytes()
    }

    #[test]
    fn an_email_that_panics_the_mime_parser_is_refused() {
        let raw = include_bytes!("fixtures/fuzz/mime_parser_panic.eml");
        assert_eq!(
            parse_email(raw, &ParseSettings::default()),
            Err(ParseError::Malformed)
        );
        assert_eq!(parse_attachments(raw, 1 << 20), Err(ParseError::Malformed));
    }

    #[test]
    fn attachments_past_the_cap_are_dropped_and_counted() {
        let raw = many_parts(MAX_ATTACHMENTS + 25);
        let parsed = parse_email(&raw, &ParseSettings::default()).unwrap();
        assert_eq!(parsed.attachments.len(), MAX_ATTACHMENTS);
        assert_eq!(parsed.attachments_dropped, 25);
        assert_eq!(parsed.attachments[0].filename.as_deref(), Some("f0.txt"));
        assert_eq!(parsed.new_text, "see the files");
        let only = parse_attachments(&raw, 10 * 1024 * 1024).unwrap();
        assert_eq!(only, parsed.attachments);
    }
}
