//! Mail written by a machine: answering it could start a loop between two robots, so
//! nothing automatic ever answers it (RFC 3834, and the headers in common use).

use mail_parser::{HeaderValue, Message};
use serde::Serialize;

/// Why a message is not a person writing to us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Automated {
    /// `Auto-Submitted: auto-*`, `X-Autoreply`, `X-Autorespond`: an out-of-office or
    /// another helpdesk's acknowledgement.
    AutoReply,
    /// `Precedence: bulk`/`junk`/`list`.
    Bulk,
    /// A mailing list (`List-Id`, `List-Unsubscribe`, …).
    MailingList,
    /// A delivery status notification (a bounce).
    Bounce,
    /// From our own domain: our own mail come back.
    OwnMail,
}

/// The first reason `message` is automatic, if it is. `own_domains` are lower-case.
pub fn detect(
    message: &Message<'_>,
    from_domain: Option<&str>,
    own_domains: &[String],
) -> Option<Automated> {
    let header = |name: &str| -> Option<String> {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if header("auto-submitted").is_some_and(|v| !v.is_empty() && !v.starts_with("no")) {
        return Some(Automated::AutoReply);
    }
    if ["x-autoreply", "x-autorespond", "x-autoresponder"]
        .iter()
        .any(|h| header(h).is_some_and(|v| !v.is_empty() && v != "no"))
    {
        return Some(Automated::AutoReply);
    }
    if let Some(precedence) = header("precedence")
        && ["bulk", "junk", "list", "auto_reply"]
            .iter()
            .any(|p| precedence.starts_with(p))
    {
        return Some(if precedence.starts_with("auto_reply") {
            Automated::AutoReply
        } else {
            Automated::Bulk
        });
    }
    let list_headers = [
        message.list_id(),
        message.list_unsubscribe(),
        message.list_post(),
        message.list_help(),
        message.list_subscribe(),
        message.list_owner(),
        message.list_archive(),
    ];
    if list_headers
        .iter()
        .any(|h| !matches!(h, HeaderValue::Empty))
    {
        return Some(Automated::MailingList);
    }
    if let Some(domain) = from_domain
        && own_domains.iter().any(|own| own == domain)
    {
        return Some(Automated::OwnMail);
    }
    None
}
