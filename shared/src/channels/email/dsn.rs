//! Delivery status notifications (RFC 3464): `multipart/report;
//! report-type=delivery-status`, with a `message/delivery-status` part and the original
//! message (or its headers) attached.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use serde::Serialize;

/// A bounce of one of our messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Bounce {
    /// The Message-ID of the message that could not be delivered, without `<>`.
    pub original_message_id: Option<String>,
    pub recipient: Option<String>,
    /// `Status` (e.g. `5.1.1`) and the diagnostic, as the reporting server gave them.
    pub reason: String,
    /// False for delayed/relayed/delivered reports: only `Action: failed` is a bounce.
    pub failed: bool,
}

/// The bounce `message` reports, if it is a delivery status notification.
pub fn detect(message: &Message<'_>) -> Option<Bounce> {
    let root = message.root_part();
    let ct = root.content_type()?;
    let is_report = ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        && ct
            .attribute("report-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"));
    if !is_report {
        return None;
    }
    let mut fields = Vec::new();
    let mut original = None;
    for part in &message.parts {
        let Some(pct) = part.content_type() else {
            continue;
        };
        let kind = format!(
            "{}/{}",
            pct.ctype().to_ascii_lowercase(),
            pct.subtype().unwrap_or_default().to_ascii_lowercase()
        );
        match kind.as_str() {
            "message/delivery-status" | "message/global-delivery-status" => {
                fields = status_fields(&String::from_utf8_lossy(part.contents()));
            }
            "message/rfc822" | "message/global" if original.is_none() => {
                original = match &part.body {
                    PartType::Message(inner) => inner.message_id().map(str::to_owned),
                    _ => headers_message_id(part.contents()),
                };
            }
            "text/rfc822-headers" if original.is_none() => {
                original = headers_message_id(part.contents());
            }
            _ => {}
        }
    }
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let action = field("Action").unwrap_or_default().to_ascii_lowercase();
    let status = field("Status");
    let diagnostic = field("Diagnostic-Code");
    let reason = match (status, diagnostic) {
        (Some(s), Some(d)) => format!("{s} {d}"),
        (Some(s), None) => s,
        (None, Some(d)) => d,
        (None, None) => "the message could not be delivered".into(),
    };
    Some(Bounce {
        original_message_id: original,
        recipient: field("Final-Recipient")
            .or_else(|| field("Original-Recipient"))
            .map(|r| strip_type(&r)),
        reason,
        failed: action.is_empty() || action.starts_with("failed"),
    })
}

/// `rfc822; sara@example.com` → `sara@example.com`.
fn strip_type(value: &str) -> String {
    value
        .split_once(';')
        .map_or(value, |(_, v)| v)
        .trim()
        .to_owned()
}

/// The fields of every block of a delivery-status body, later ones (per recipient)
/// after the message's own; folded lines joined.
fn status_fields(body: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in body.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = fields.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            fields.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    // Per-recipient fields win over the envelope's: look them up from the end.
    fields.reverse();
    fields
}

fn headers_message_id(headers: &[u8]) -> Option<String> {
    MessageParser::default()
        .parse_headers(headers)
        .and_then(|m| m.message_id().map(str::to_owned))
}
