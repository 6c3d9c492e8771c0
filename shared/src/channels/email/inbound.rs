//! A parsed email → one channel-neutral [`InboundMessage`], a bounce, or the reason it
//! is ignored. Automatic mail never becomes a message: nothing may answer it, and it
//! must not reopen or start conversations (DESIGN: loops).

use super::{Automated, Bounce, ParsedEmail};
use crate::model::{
    Attachment, Channel, DeliveryReport, DeliveryStatus, Identity, Inbound, InboundMessage,
    PresentedIdentity, ReportKind, SourceId, bounded_text,
};
use chrono::Utc;
use sha2::{Digest, Sha256};

/// What the webhook was configured with.
#[derive(Clone, Debug, Default)]
pub struct InboundSettings {
    /// The relay that hands us mail checked SPF/DKIM, so `From` is the sender's own
    /// address (a proven identity); otherwise it is only claimed.
    pub from_proven: bool,
    /// Facts about how the email arrived to show with it (a spam verdict).
    pub notes: Vec<(String, String)>,
}

/// What an email becomes.
#[derive(Clone, Debug, PartialEq)]
pub enum Normalized {
    Message(Box<InboundMessage>),
    /// A delivery failure report about one of our messages.
    Bounce(Bounce),
    /// Nothing to store; the reason goes to the log.
    Ignored(&'static str),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    #[error("the email has no valid From address")]
    NoSender,
}

/// The email's source id (its exactly-once key). A Message-ID is chosen by the sender,
/// so it is only unique per sender: the key is the SHA-256 of the lower-cased `From`
/// address, a newline and the Message-ID (two senders reusing `<1@localhost>` are two
/// emails). Without a Message-ID it is the hash of the bytes (a redelivery of the same
/// bytes is then still recognised).
pub fn source_id(parsed: &ParsedEmail, raw: &[u8]) -> SourceId {
    match &parsed.message_id {
        Some(id) => sender_message_key(parsed, id),
        None => SourceId::new("email", &format!("sha256:{}", raw_digest(raw))),
    }
}

/// The source id an email from this email's sender with Message-ID `id` was stored under.
fn sender_message_key(parsed: &ParsedEmail, id: &str) -> SourceId {
    let from = parsed
        .from
        .as_ref()
        .map(|m| m.address.as_str().to_owned())
        .unwrap_or_default();
    super::thread::customer_key(&from, id)
}

/// A bounce as news about the reply it names, to apply behind the queue: the reply
/// turns `failed`, with the reporting server's reason. `raw` keys it (a redelivered
/// bounce is dropped).
pub fn bounce_report(bounce: &Bounce, raw: &[u8]) -> Option<Inbound> {
    let original = bounce.original_message_id.as_deref()?;
    let reason = match &bounce.recipient {
        Some(to) => format!("the email to {to} bounced: {}", bounce.reason),
        None => format!("the email bounced: {}", bounce.reason),
    };
    Some(Inbound::report(
        SourceId::new("email", &format!("dsn:{}", raw_digest(raw))),
        Channel::Email,
        DeliveryReport {
            provider_id: super::thread::provider_key(original),
            status: DeliveryStatus::Failed,
            error: Some(reason.chars().take(1000).collect()),
            kind: ReportKind::Status,
        },
    ))
}

/// The most of an email's new text, and of its quoted history, carried on the queue
/// (bytes of UTF-8): a message stays well within a queue message (SQS: 256 KiB) and a
/// stored item; the whole email is always kept as the message's original.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// SHA-256 of the raw message, hex.
pub fn raw_digest(raw: &[u8]) -> String {
    hex::encode(Sha256::digest(raw))
}

/// The blob key the raw message is kept under; attachments are fetched from it.
pub fn raw_key(raw: &[u8]) -> String {
    format!("email/raw/{}.eml", raw_digest(raw))
}

/// `raw_key` is where the raw message is kept: the attachments refer to it.
pub fn normalize(
    parsed: &ParsedEmail,
    source_id: SourceId,
    raw_key: &str,
    settings: &InboundSettings,
) -> Result<Normalized, NormalizeError> {
    match (parsed.automated, &parsed.bounce) {
        (Some(Automated::Bounce), Some(bounce)) if bounce.failed => {
            return Ok(match &bounce.original_message_id {
                Some(_) => Normalized::Bounce(bounce.clone()),
                None => Normalized::Ignored("a bounce that names no message of ours"),
            });
        }
        (Some(Automated::Bounce), _) => {
            return Ok(Normalized::Ignored(
                "a delivery report that is not a failure",
            ));
        }
        (Some(Automated::AutoReply), _) => return Ok(Normalized::Ignored("an automatic reply")),
        (Some(Automated::Bulk), _) => return Ok(Normalized::Ignored("bulk mail")),
        (Some(Automated::MailingList), _) => {
            return Ok(Normalized::Ignored("a mailing-list message"));
        }
        (Some(Automated::OwnMail), _) => {
            return Ok(Normalized::Ignored("mail from our own domain"));
        }
        (None, _) => {}
    }
    let from = parsed.from.as_ref().ok_or(NormalizeError::NoSender)?;
    let identity = Identity::email(&from.address);
    let presented = if settings.from_proven {
        PresentedIdentity::proven(identity)
    } else {
        PresentedIdentity::claimed(identity)
    };
    let attachments = parsed
        .attachments
        .iter()
        .enumerate()
        .map(|(index, a)| {
            if a.too_large {
                Attachment {
                    blob_key: String::new(),
                    filename: a.filename.clone(),
                    content_type: a.content_type.clone(),
                    size: a.size,
                    provider_ref: None,
                    fetch_error: Some("the file is larger than the email size limit".into()),
                }
            } else {
                Attachment::at_provider(
                    format!("{raw_key}#{index}"),
                    a.filename.clone(),
                    Some(a.content_type.clone()),
                    Some(a.size),
                )
            }
        })
        .collect::<Vec<_>>();
    let mut text = bounded_text(&parsed.new_text, MAX_TEXT_BYTES, true);
    if text.is_empty() && attachments.is_empty() {
        text = "(an empty email)".into();
    }
    let mut context = Vec::new();
    if let Some(quoted) = &parsed.quoted {
        let quoted = bounded_text(quoted, MAX_TEXT_BYTES, true);
        context.push(("Quoted history".to_owned(), quoted));
    }
    if parsed.attachments_dropped > 0 {
        context.push((
            "Attachments not kept".to_owned(),
            format!(
                "{} more files: only the first {} of an email are kept (all are in the original email)",
                parsed.attachments_dropped,
                super::MAX_ATTACHMENTS
            ),
        ));
    }
    context.extend(settings.notes.iter().cloned());
    let message = InboundMessage {
        sender_name: from.name.clone(),
        identities: vec![presented],
        text,
        subject: parsed.subject.clone(),
        context,
        attachments,
        // The reply of ours it answers: our replies are known by their Message-ID.
        reply_to: parsed
            .in_reply_to
            .first()
            .map(|id| SourceId::from_stored(super::thread::provider_key(id))),
        external_id: parsed.message_id.clone(),
        // A token is only valid if we signed it: any recipient domain may carry one.
        thread_refs: super::thread::thread_refs(parsed, &[]),
        original: Some(raw_key.to_owned()),
        ..InboundMessage::new(source_id, Channel::Email, Utc::now())
    };
    Ok(Normalized::Message(Box::new(message)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::email::{ParseSettings, parse_email};

    fn settings() -> ParseSettings {
        ParseSettings {
            own_domains: vec!["switchboard.test".into()],
            max_attachment_bytes: 4096,
        }
    }

    fn normalized(raw: &[u8]) -> Result<Normalized, NormalizeError> {
        let parsed = parse_email(raw, &settings()).unwrap();
        let source = source_id(&parsed, raw);
        normalize(&parsed, source, &raw_key(raw), &InboundSettings::default())
    }

    #[test]
    fn a_customer_email_becomes_a_message_keyed_by_its_message_id() {
        let raw = include_bytes!("fixtures/plain.eml");
        let Ok(Normalized::Message(m)) = normalized(raw) else {
            panic!("not a message");
        };
        assert_eq!(
            m.source_id,
            sender_message_key(
                &parse_email(include_bytes!("fixtures/plain.eml"), &settings()).unwrap(),
                "CAplain001@mail.example.com"
            )
        );
        assert!(m.source_id.as_str().starts_with("email:mid:"));
        assert_eq!(m.channel, Channel::Email);
        assert_eq!(m.identities[0].identity.value, "sara@example.com");
        assert!(!m.identities[0].proven);
        assert_eq!(m.sender_name.as_deref(), Some("Sara Ahmadi"));
        assert_eq!(m.subject.as_deref(), Some("My order has not arrived"));
        assert!(m.text.starts_with("Hello,"));
        assert!(m.auto_reply.is_none());
    }

    #[test]
    fn a_reply_shows_only_its_new_text_and_keeps_the_history_as_context() {
        let Ok(Normalized::Message(m)) = normalized(include_bytes!("fixtures/gmail_reply.eml"))
        else {
            panic!("not a message");
        };
        assert_eq!(m.text, "Thank you, it arrived this morning!");
        assert!(
            m.context
                .iter()
                .any(|(k, v)| k == "Quoted history" && v.contains("Hi Sara"))
        );
        assert_eq!(
            m.reply_to.as_ref().map(SourceId::as_str),
            Some("email:reply-01@switchboard.test")
        );
    }

    #[test]
    fn the_raw_email_is_the_messages_original() {
        let raw = include_bytes!("fixtures/plain.eml");
        let Ok(Normalized::Message(m)) = normalized(raw) else {
            panic!("not a message");
        };
        assert_eq!(m.original, Some(raw_key(raw)));
    }

    #[test]
    fn a_very_long_email_is_cut_for_the_queue_and_says_the_rest_is_in_the_original() {
        // 200,000 characters of Persian (2 bytes each) above a quoted history as long.
        let body = "س".repeat(200_000);
        let quoted = "> ".to_owned() + &"ق".repeat(200_000);
        let raw = format!(
            "From: sara@example.com\r\nTo: support@switchboard.test\r\nSubject: Long\r\n\
             Message-ID: <long@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             {body}\r\n\r\nOn Mon, 3 Nov 2025, Support wrote:\r\n{quoted}\r\n"
        );
        let Ok(Normalized::Message(m)) = normalized(raw.as_bytes()) else {
            panic!("not a message");
        };
        assert!(m.text.len() <= MAX_TEXT_BYTES, "{}", m.text.len());
        assert!(m.text.starts_with("سسس"));
        assert!(
            m.text
                .ends_with("the whole text is in the original message]")
        );
        let (_, history) = m
            .context
            .iter()
            .find(|(k, _)| k == "Quoted history")
            .expect("the history is kept");
        assert!(history.len() <= MAX_TEXT_BYTES);
        assert!(serde_json::to_vec(&*m).unwrap().len() < 200 * 1024);
    }

    #[test]
    fn attachments_point_at_the_raw_message_and_oversized_ones_say_why() {
        let raw = include_bytes!("fixtures/attachments.eml");
        let Ok(Normalized::Message(m)) = normalized(raw) else {
            panic!("not a message");
        };
        assert_eq!(m.attachments.len(), 3);
        assert_eq!(
            m.attachments[0].provider_ref.as_deref(),
            Some(format!("{}#0", raw_key(raw)).as_str())
        );
        assert!(m.attachments[2].fetch_error.is_some());
    }

    #[test]
    fn automatic_mail_is_never_a_message() {
        for raw in [
            include_bytes!("fixtures/auto_reply.eml").as_slice(),
            include_bytes!("fixtures/mailing_list.eml"),
            include_bytes!("fixtures/own_domain.eml"),
        ] {
            assert!(matches!(normalized(raw), Ok(Normalized::Ignored(_))));
        }
    }

    #[test]
    fn a_bounce_names_our_message_and_the_reason() {
        let Ok(Normalized::Bounce(b)) = normalized(include_bytes!("fixtures/dsn_bounce.eml"))
        else {
            panic!("not a bounce");
        };
        assert_eq!(
            b.original_message_id.as_deref(),
            Some("reply-02@switchboard.test")
        );
        assert!(b.reason.starts_with("5.1.1"), "{}", b.reason);
        let raw = include_bytes!("fixtures/dsn_bounce.eml");
        let report = bounce_report(&b, raw)
            .and_then(|m| m.delivery_report().cloned())
            .unwrap();
        assert_eq!(report.provider_id, "email:reply-02@switchboard.test");
        assert_eq!(report.status, DeliveryStatus::Failed);
        assert!(report.error.unwrap().contains("5.1.1"));
    }

    #[test]
    fn an_email_without_a_valid_sender_is_refused() {
        assert_eq!(
            normalized(include_bytes!("fixtures/broken_headers.eml")),
            Err(NormalizeError::NoSender)
        );
    }

    #[test]
    fn the_same_message_id_from_two_senders_is_two_emails() {
        let a = b"From: a@example.com\r\nMessage-ID: <1@localhost>\r\n\r\nhi\r\n";
        let b = b"From: B@Example.com\r\nMessage-ID: <1@localhost>\r\n\r\nhi\r\n";
        let again = b"From: A@EXAMPLE.COM\r\nMessage-ID: <1@localhost>\r\n\r\nagain\r\n";
        let key = |raw: &[u8]| source_id(&parse_email(raw, &settings()).unwrap(), raw);
        assert_ne!(key(a), key(b));
        assert_eq!(key(a), key(again));
    }

    #[test]
    fn an_email_without_message_id_is_keyed_by_its_bytes() {
        let raw = b"From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";
        let parsed = parse_email(raw, &settings()).unwrap();
        assert_eq!(
            source_id(&parsed, raw).as_str(),
            format!("email:sha256:{}", raw_digest(raw))
        );
    }
}
