//! A reply → the MIME message that carries it: text and HTML parts, the agent's files,
//! `In-Reply-To`/`References` naming the customer's email, a `Reply-To` whose token
//! leads back to the conversation, and a subject that names it (`[#cv_…]`).

use super::thread::{ReplyTokens, reply_subject};
use crate::model::{Channel, EmailAddress, IdentityKind};
use crate::ports::{OutboundDelivery, SendError};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

/// Who replies come from.
#[derive(Clone, Debug)]
pub struct OutboundSettings {
    pub from: EmailAddress,
    pub from_name: Option<String>,
    /// Customers answer `local+<token>@domain` of this address.
    pub reply_address: EmailAddress,
}

impl OutboundSettings {
    /// `reply_address`: where customers answer (a `+token` is added); the From address
    /// when none. The error names the address that is wrong.
    pub fn new(
        from: &str,
        from_name: Option<String>,
        reply_address: Option<&str>,
    ) -> Result<Self, String> {
        let address = |what: &str, value: &str| {
            EmailAddress::parse(value)
                .map_err(|_| format!("the {what} address `{value}` is not an email address"))
        };
        let from = address("From", from)?;
        let reply_address = match reply_address.filter(|r| !r.trim().is_empty()) {
            Some(r) => address("reply", r)?,
            None => from.clone(),
        };
        Ok(Self {
            from,
            from_name: from_name.filter(|n| !n.trim().is_empty()),
            reply_address,
        })
    }
}

/// A reply ready to hand to a relay.
#[derive(Debug)]
pub struct OutboundEmail {
    pub message: lettre::Message,
    /// Our Message-ID for it, without `<>`.
    pub message_id: String,
}

pub fn build(
    delivery: &OutboundDelivery,
    settings: &OutboundSettings,
    tokens: &ReplyTokens,
) -> Result<OutboundEmail, SendError> {
    let permanent = |reason: String| SendError::Permanent { reason };
    let to = delivery
        .recipient
        .as_ref()
        .filter(|r| r.kind == IdentityKind::Email)
        .ok_or_else(|| permanent("the contact has no email address".into()))?;
    let mailbox = |name: Option<String>, address: &str| {
        address
            .parse()
            .map(|a| Mailbox::new(name, a))
            .map_err(|e| permanent(format!("`{address}` is not an address to send to: {e}")))
    };
    let conversation = &delivery.conversation;
    let domain = settings
        .from
        .as_str()
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d);
    // Our id for the reply: the customer's answer names it, and the stored id finds the
    // reply again. The message id alone could be guessed (ids are time-ordered), and a
    // Message-ID is what a bounce names, so 64 random bits follow it: only whoever
    // received the reply can name it.
    let message_id = format!(
        "{}.{}@{domain}",
        delivery.message.id,
        hex::encode(rand::random::<[u8; 8]>())
    );
    let reply_to = tokens.reply_address(settings.reply_address.as_str(), conversation.id);
    let mut builder = lettre::Message::builder()
        .from(mailbox(settings.from_name.clone(), settings.from.as_str())?)
        .reply_to(mailbox(settings.from_name.clone(), &reply_to)?)
        .to(mailbox(None, &to.value)?)
        .subject(reply_subject(
            conversation.subject.as_deref(),
            conversation.id,
        ))
        .message_id(Some(format!("<{message_id}>")))
        .date_now();
    let parent = delivery
        .answering
        .as_ref()
        .filter(|m| m.channel == Channel::Email)
        .and_then(|m| m.external_id.as_deref())
        .filter(|id| !id.is_empty() && !id.contains(['<', '>', '\r', '\n', ' ']));
    if let Some(parent) = parent {
        builder = builder
            .in_reply_to(format!("<{parent}>"))
            .references(format!("<{parent}>"));
    }
    // An automatic message (a survey) says so, so that no auto-responder answers it.
    if delivery.message.author == crate::model::Author::System {
        builder = builder.raw_header(auto_generated());
    }
    let text = delivery.message.text.clone();
    let choices = &delivery.choices;
    let html = maud::html! {
        @if choices.is_empty() {
            div dir="auto" style="white-space: pre-wrap" { (text) }
        } @else {
            // The choices as links: the first line of the text, then one button each.
            div dir="auto" { p { (text.lines().next().unwrap_or_default()) }
                p { @for c in choices {
                    a href=(c.data) style="display:inline-block;margin:4px;padding:8px 14px;border:1px solid #c5ccd6;border-radius:6px;text-decoration:none" { (c.label) }
                } }
            }
        }
    }
    .into_string();
    let body = MultiPart::alternative_plain_html(text, html);
    let message = if delivery.files.is_empty() {
        builder.multipart(body)
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for file in &delivery.files {
            let content_type = ContentType::parse(&file.content_type).unwrap_or(
                ContentType::parse("application/octet-stream").map_err(|e| {
                    permanent(format!("no content type for {}: {e}", file.filename))
                })?,
            );
            let part: SinglePart =
                Attachment::new(file.filename.clone()).body(file.bytes.clone(), content_type);
            mixed = mixed.singlepart(part);
        }
        builder.multipart(mixed)
    }
    .map_err(|e| permanent(format!("the email could not be built: {e}")))?;
    Ok(OutboundEmail {
        message,
        message_id,
    })
}

/// `Auto-Submitted: auto-generated`: sent by a machine, not to be answered by one.
fn auto_generated() -> lettre::message::header::HeaderValue {
    lettre::message::header::HeaderValue::new(
        lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted"),
        "auto-generated".into(),
    )
}

/// An agent's notification by email: plain text from the From address, marked as sent
/// by a machine (`Auto-Submitted: auto-generated`) so that no auto-responder answers it.
pub fn agent_notice(
    settings: &OutboundSettings,
    to: &EmailAddress,
    subject: &str,
    text: &str,
) -> Result<lettre::Message, SendError> {
    let permanent = |reason: String| SendError::Permanent { reason };
    let mailbox = |name: Option<String>, address: &str| {
        address
            .parse()
            .map(|a| Mailbox::new(name, a))
            .map_err(|e| permanent(format!("`{address}` is not an address to send to: {e}")))
    };
    lettre::Message::builder()
        .from(mailbox(settings.from_name.clone(), settings.from.as_str())?)
        .to(mailbox(None, to.as_str())?)
        .subject(subject)
        .raw_header(auto_generated())
        .date_now()
        .singlepart(SinglePart::plain(text.to_owned()))
        .map_err(|e| permanent(format!("the email could not be built: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::email::{ParseSettings, parse_email};
    use crate::model::{
        Author, Conversation, ConversationId, ConversationStatus, DeliveryStatus, Direction,
        Identity, Message, MessageId, Priority,
    };
    use crate::ports::OutboundFile;
    use chrono::Utc;

    fn delivery(answering_id: Option<&str>, files: Vec<OutboundFile>) -> OutboundDelivery {
        let now = Utc::now();
        let conversation = Conversation {
            id: ConversationId::new(),
            contact_id: crate::model::ContactId::new(),
            status: ConversationStatus::Open,
            snoozed_until: None,
            priority: Priority::Normal,
            tags: vec![],
            team_id: None,
            assignee_id: None,
            subject: Some("RE: کتری Kettle".into()),
            channel: Channel::Email,
            channels: vec![Channel::Email],
            message_count: 1,
            preview: String::new(),
            created_at: now,
            updated_at: now,
            last_inbound_at: None,
            waiting_since: None,
            incident_id: None,
            resolved_at: None,
            version: 1,
        };
        let message = |direction, text: &str, external_id: Option<&str>| Message {
            id: MessageId::new(),
            conversation_id: conversation.id,
            contact_id: conversation.contact_id,
            direction,
            channel: Channel::Email,
            author: Author::System,
            text: text.into(),
            attachments: vec![],
            source_id: None,
            delivery_status: DeliveryStatus::Queued,
            delivery_error: None,
            created_at: now,
            reply_to: None,
            edit_of: None,
            media_group: None,
            external_id: external_id.map(str::to_owned),
            context: Vec::new(),
            original: None,
            sent_from: Vec::new(),
            provider_id: None,
        };
        OutboundDelivery {
            message: message(
                Direction::Outbound,
                "سلام <b>Sara</b>,\nit ships today.",
                None,
            ),
            answering: answering_id.map(|id| message(Direction::Inbound, "help", Some(id))),
            conversation,
            recipient: Some(Identity::email(
                &EmailAddress::parse("sara@example.com").unwrap(),
            )),
            files,
            choices: Vec::new(),
        }
    }

    fn settings() -> OutboundSettings {
        OutboundSettings {
            from: EmailAddress::parse("support@switchboard.test").unwrap(),
            from_name: Some("Acme Support".into()),
            reply_address: EmailAddress::parse("support@switchboard.test").unwrap(),
        }
    }

    #[test]
    fn a_reply_threads_under_the_customers_email_and_names_its_conversation() {
        let tokens = ReplyTokens::new(b"k");
        let d = delivery(Some("CAfirst@mail.example.com"), vec![]);
        let built = build(&d, &settings(), &tokens).unwrap();
        let raw = built.message.formatted();
        let parsed = parse_email(&raw, &ParseSettings::default()).unwrap();
        assert_eq!(
            parsed.message_id.as_deref(),
            Some(built.message_id.as_str())
        );
        assert!(built.message_id.ends_with("@switchboard.test"));
        let again = build(&d, &settings(), &tokens).unwrap();
        assert_ne!(
            again.message_id, built.message_id,
            "a Message-ID is not derived from the reply's id alone"
        );
        assert_eq!(parsed.in_reply_to, vec!["CAfirst@mail.example.com"]);
        assert_eq!(parsed.references, vec!["CAfirst@mail.example.com"]);
        let reply_to = parsed.reply_to.unwrap().address;
        assert_eq!(
            reply_to.as_str(),
            format!(
                "support+{}@switchboard.test",
                tokens.token(d.conversation.id)
            )
        );
        assert_eq!(
            parsed.subject.as_deref(),
            Some(format!("Re: کتری Kettle [#{}]", d.conversation.id).as_str())
        );
        assert_eq!(parsed.text.trim(), "سلام <b>Sara</b>,\nit ships today.");
        assert!(parsed.html.unwrap().contains("&lt;b&gt;Sara&lt;/b&gt;"));
    }

    #[test]
    fn files_go_along_and_a_reply_without_an_email_to_answer_starts_a_thread() {
        let file = OutboundFile {
            filename: "label.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-1.4 label".to_vec(),
        };
        let built = build(
            &delivery(None, vec![file]),
            &settings(),
            &ReplyTokens::new(b"k"),
        )
        .unwrap();
        let raw = built.message.formatted();
        let parsed = parse_email(&raw, &ParseSettings::default()).unwrap();
        assert!(parsed.in_reply_to.is_empty());
        assert_eq!(parsed.attachments.len(), 1);
        assert_eq!(parsed.attachments[0].filename.as_deref(), Some("label.pdf"));
        assert_eq!(parsed.attachments[0].bytes, b"%PDF-1.4 label");
    }

    #[test]
    fn no_email_address_is_a_permanent_failure() {
        let mut d = delivery(None, vec![]);
        d.recipient = None;
        assert!(matches!(
            build(&d, &settings(), &ReplyTokens::new(b"k")),
            Err(SendError::Permanent { .. })
        ));
    }
}
