//! Where a reply may go: one rule, applied by the inbox before a reply is queued and by
//! the sender before it goes out.
//!
//! A reply reaches only an address the customer proved, or the exact address the
//! message it answers came from (for a web-form submission, the email or phone typed on
//! that same submission). An address that reached the contact any other way — typed
//! into someone else's form, reported on another message — never gets a reply, so
//! nobody can redirect the answers meant for another customer by typing their details.

use crate::model::{Channel, Contact, Direction, Identity, IdentityKind, Message};

/// The kind of address a reply on `channel` goes to; none for the customer page.
pub fn address_kind(channel: Channel) -> Option<IdentityKind> {
    match channel {
        Channel::Web => None,
        Channel::Email => Some(IdentityKind::Email),
        Channel::Telegram => Some(IdentityKind::Telegram),
        Channel::Sms | Channel::Voice => Some(IdentityKind::Phone),
    }
}

/// The address of `kind` a reply answering `answered` goes to: the one that message
/// came from, else the contact's newest proven one.
pub fn reply_address(
    kind: IdentityKind,
    answered: Option<&Message>,
    contact: &Contact,
) -> Option<Identity> {
    let came_from = answered
        .filter(|m| m.direction == Direction::Inbound)
        .and_then(|m| m.sent_from.iter().find(|i| i.kind == kind));
    if let Some(identity) = came_from {
        return Some(identity.clone());
    }
    contact
        .identities
        .iter()
        .filter(|i| i.identity.kind == kind && i.proven)
        .max_by_key(|i| i.added_at)
        .map(|i| i.identity.clone())
}

/// Whether a customer's message can be answered with a reply of `kind`: it came from
/// such an address.
pub fn came_from_kind(message: &Message, kind: IdentityKind) -> bool {
    message.direction == Direction::Inbound && message.sent_from.iter().any(|i| i.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Author, ContactId, ContactIdentity, ConversationId, EmailAddress, PhoneNumber,
    };
    use chrono::{Duration, Utc};

    fn email(a: &str) -> Identity {
        Identity::email(&EmailAddress::parse(a).unwrap())
    }

    fn phone(p: &str) -> Identity {
        Identity::phone(&PhoneNumber::from_e164(p).unwrap())
    }

    fn contact(identities: &[(Identity, bool, bool)]) -> Contact {
        let now = Utc::now();
        Contact {
            id: ContactId::new(),
            name: None,
            identities: identities
                .iter()
                .enumerate()
                .map(|(n, (identity, proven, typed))| ContactIdentity {
                    identity: identity.clone(),
                    proven: *proven,
                    typed: *typed,
                    added_at: now + Duration::seconds(n as i64),
                })
                .collect(),
            merge_suggestions: vec![],
            blocked_channels: vec![],
            tags: Vec::new(),
            vip: false,
            created_at: now,
            updated_at: now,
        }
    }

    fn inbound(channel: Channel, sent_from: Vec<Identity>) -> Message {
        Message {
            direction: Direction::Inbound,
            sent_from,
            ..Message::outbound(
                ConversationId::new(),
                ContactId::new(),
                channel,
                Author::System,
                "hi",
            )
        }
    }

    #[test]
    fn a_reply_goes_where_the_answered_message_came_from() {
        let c = contact(&[(email("old@example.com"), true, false)]);
        let m = inbound(Channel::Email, vec![email("new@example.com")]);
        assert_eq!(
            reply_address(IdentityKind::Email, Some(&m), &c),
            Some(email("new@example.com"))
        );
    }

    #[test]
    fn without_such_a_message_only_a_proven_address_is_used() {
        let c = contact(&[
            (phone("+14155550100"), true, false),
            (phone("+14155550199"), false, true),
            (phone("+14155550188"), false, false),
        ]);
        assert_eq!(
            reply_address(IdentityKind::Phone, None, &c),
            Some(phone("+14155550100"))
        );
        let typed_only = contact(&[(phone("+14155550199"), false, true)]);
        assert_eq!(reply_address(IdentityKind::Phone, None, &typed_only), None);
        let email_message = inbound(Channel::Email, vec![email("a@example.com")]);
        assert_eq!(
            reply_address(IdentityKind::Phone, Some(&email_message), &typed_only),
            None,
            "an email's sender says nothing about a phone"
        );
    }

    #[test]
    fn a_web_form_submission_is_answered_at_what_was_typed_on_it() {
        let c = contact(&[
            (email("sara@example.com"), false, true),
            (phone("+14155550100"), false, true),
        ]);
        let m = inbound(
            Channel::Web,
            vec![email("sara@example.com"), phone("+14155550100")],
        );
        assert!(came_from_kind(&m, IdentityKind::Phone));
        assert_eq!(
            reply_address(IdentityKind::Phone, Some(&m), &c),
            Some(phone("+14155550100"))
        );
    }
}
