//! An incoming SMS or MMS (Twilio's form parameters) → one channel-neutral
//! [`InboundMessage`], or the reason it is ignored. Never panics on any input.
//!
//! <https://www.twilio.com/docs/messaging/guides/webhook-request>

use super::params::Params;
use crate::model::{
    Attachment, Channel, DefaultRegion, Identity, InboundMessage, PhoneNumber, PresentedIdentity,
    SourceId,
};
use chrono::Utc;

/// Twilio sends at most ten files with one message.
pub const MAX_MEDIA: usize = 10;

/// Longest text kept from one message (a concatenated SMS is at most 1600 characters;
/// anything far past that is not Twilio).
const MAX_BODY_CHARS: usize = 20_000;

/// What an incoming message becomes.
#[derive(Clone, Debug, PartialEq)]
pub enum Normalized {
    Message(Box<InboundMessage>),
    /// Not a message but news for the router (an SMS we sent was delivered).
    News(Box<crate::model::Inbound>),
    /// Nothing to store; the reason goes to the log.
    Ignored(&'static str),
    /// Not a message Twilio would send: a 400.
    Invalid(String),
}

/// The source id of an incoming message (`SM…`/`MM…`), or of one we sent.
pub fn message_source(message_sid: &str) -> SourceId {
    SourceId::new("twilio", message_sid)
}

/// Whether `sid` looks like a Twilio SID of the given prefix (`SM`, `CA`, …).
pub fn is_sid(sid: &str, prefixes: &[&str]) -> bool {
    sid.len() == 34
        && prefixes.iter().any(|p| sid.starts_with(p))
        && sid[2..].chars().all(|c| c.is_ascii_alphanumeric())
}

pub fn normalize_sms(params: &Params, region: DefaultRegion) -> Normalized {
    let Some(sid) = params.get("MessageSid").or_else(|| params.get("SmsSid")) else {
        return Normalized::Invalid("MessageSid is missing".into());
    };
    if !is_sid(sid, &["SM", "MM"]) {
        return Normalized::Invalid("MessageSid is not a Twilio message SID".into());
    }
    let Some(from) = params.get("From") else {
        return Normalized::Invalid("From is missing".into());
    };
    let Ok(phone) = PhoneNumber::reported(from, region) else {
        // A short code or an alphanumeric sender: nobody to answer.
        return Normalized::Ignored("the sender is not a phone number");
    };
    let text: String = params
        .get("Body")
        .unwrap_or_default()
        .chars()
        .take(MAX_BODY_CHARS)
        .collect();
    let attachments = media_of(params);
    if text.trim().is_empty() && attachments.is_empty() {
        return Normalized::Ignored("an empty message");
    }
    let mut context = Vec::new();
    if let Some(to) = params.get("To") {
        context.push(("to".to_owned(), to.to_owned()));
    }
    let message = InboundMessage {
        identities: vec![PresentedIdentity::proven(Identity::phone(&phone))],
        text,
        context,
        attachments,
        ..InboundMessage::new(message_source(sid), Channel::Sms, Utc::now())
    };
    Normalized::Message(Box::new(message))
}

/// `MediaUrl{N}` with `MediaContentType{N}`, for N below `NumMedia` (at most ten).
fn media_of(params: &Params) -> Vec<Attachment> {
    let count = params
        .get("NumMedia")
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_MEDIA);
    (0..count)
        .filter_map(|n| {
            let url = params.get(&format!("MediaUrl{n}"))?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return None;
            }
            let content_type = params
                .get(&format!("MediaContentType{n}"))
                .filter(|t| t.contains('/') && t.len() <= 100)
                .map(str::to_owned);
            let filename = format!(
                "media{}{}",
                n + 1,
                extension(content_type.as_deref().unwrap_or(""))
            );
            Some(Attachment::at_provider(
                url.to_owned(),
                Some(filename),
                content_type,
                None,
            ))
        })
        .collect()
}

fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => ".jpg",
        "image/png" => ".png",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        "video/mp4" => ".mp4",
        "audio/mpeg" => ".mp3",
        "audio/ogg" => ".ogg",
        "audio/amr" => ".amr",
        "text/vcard" | "text/x-vcard" => ".vcf",
        "application/pdf" => ".pdf",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> DefaultRegion {
        DefaultRegion::parse("US").unwrap()
    }

    fn normalized(fixture: &str) -> Normalized {
        let params = Params::parse(fixture.trim().as_bytes()).unwrap();
        normalize_sms(&params, us())
    }

    fn message(fixture: &str) -> InboundMessage {
        match normalized(fixture) {
            Normalized::Message(m) => *m,
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn an_sms_becomes_a_message_from_a_proven_phone() {
        let m = message(include_str!("fixtures/sms.form"));
        assert_eq!(
            m.source_id.as_str(),
            "twilio:SM1f0e8ae6ade43cb3c0ce4525424e404f"
        );
        assert_eq!(m.channel, Channel::Sms);
        assert_eq!(m.text, "Hello, my order #1234 has not arrived 📦");
        assert_eq!(m.identities.len(), 1);
        assert!(m.identities[0].proven);
        assert_eq!(m.identities[0].identity.key(), "phone:+14155552671");
        assert!(m.attachments.is_empty());
    }

    #[test]
    fn an_mms_carries_its_media_to_fetch_later() {
        let m = message(include_str!("fixtures/mms.form"));
        assert_eq!(m.text, "Here is the damaged box");
        assert_eq!(m.attachments.len(), 2);
        assert_eq!(m.attachments[0].content_type, "image/jpeg");
        assert_eq!(m.attachments[0].filename.as_deref(), Some("media1.jpg"));
        assert!(
            m.attachments[0]
                .provider_ref
                .as_deref()
                .unwrap()
                .ends_with("/Media/ME27ff4c5bb5e6b1cc2e3a5f8c2c8b7d10")
        );
        assert_eq!(m.attachments[1].content_type, "application/pdf");
        assert!(!m.attachments[1].is_stored());
    }

    #[test]
    fn a_persian_sms_from_an_iranian_number_keeps_its_text() {
        let params = Params::parse(
            "MessageSid=SM00000000000000000000000000000001&From=%2B989123456789&Body=%D8%B3%D9%84%D8%A7%D9%85"
                .as_bytes(),
        )
        .unwrap();
        let Normalized::Message(m) = normalize_sms(&params, us()) else {
            panic!("not a message")
        };
        assert_eq!(m.text, "سلام");
        assert_eq!(m.identities[0].identity.value, "+989123456789");
    }

    #[test]
    fn hostile_and_odd_payloads_are_refused_or_ignored() {
        assert!(matches!(
            normalized("From=%2B14155552671&Body=hi"),
            Normalized::Invalid(_)
        ));
        assert!(matches!(
            normalized("MessageSid=../../etc&From=%2B14155552671&Body=hi"),
            Normalized::Invalid(_)
        ));
        assert!(matches!(
            normalized("MessageSid=SM00000000000000000000000000000001&Body=hi"),
            Normalized::Invalid(_)
        ));
        assert_eq!(
            normalized("MessageSid=SM00000000000000000000000000000001&From=TWILIO&Body=hi"),
            Normalized::Ignored("the sender is not a phone number")
        );
        assert_eq!(
            normalized(
                "MessageSid=SM00000000000000000000000000000001&From=%2B14155552671&Body=&NumMedia=0"
            ),
            Normalized::Ignored("an empty message")
        );
        // NumMedia far beyond what was sent, or a media URL that is not one.
        let m = message(
            "MessageSid=SM00000000000000000000000000000001&From=%2B14155552671&Body=x&NumMedia=999999&MediaUrl0=file%3A%2F%2F%2Fetc%2Fpasswd",
        );
        assert!(m.attachments.is_empty());
    }
}
