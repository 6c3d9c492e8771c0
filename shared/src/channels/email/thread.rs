//! What an email says about the conversation it continues (DESIGN: threading), strongest
//! clue first: the Message-IDs it answers (`In-Reply-To`, then `References` newest
//! first: Outlook sometimes drops `In-Reply-To` but keeps `References`), the reply token
//! in the address it was sent to (`support+<token>@…`), a `[#cv_…]` reference in the
//! subject. The router checks each against what is stored.

use super::ParsedEmail;
use crate::model::{ConversationId, SourceId, ThreadRef};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Message-IDs of one email looked up, at most: a hostile `References` header of
/// thousands of ids must not become thousands of lookups.
pub const MAX_REFERENCED_IDS: usize = 10;

/// Hex digits of the HMAC in a reply token: 80 bits, unguessable.
const TOKEN_MAC_HEX: usize = 20;

/// The provider id a reply of ours is stored under when the Message-ID customers answer
/// is `message_id` (without `<>`). SES puts its own id before `@email.amazonses.com`
/// (or a regional host): any `amazonses.com` host counts as the same.
pub fn provider_key(message_id: &str) -> String {
    let id = message_id.trim().trim_matches(['<', '>']);
    match id.rsplit_once('@') {
        Some((local, host)) if host.to_ascii_lowercase().ends_with("amazonses.com") => {
            format!("email:{local}@email.amazonses.com")
        }
        _ => SourceId::new("email", id).as_str().to_owned(),
    }
}

/// The source id an email from `from` with Message-ID `id` is stored under.
pub fn customer_key(from: &str, id: &str) -> SourceId {
    let digest = Sha256::digest(format!("{}\n{id}", from.to_lowercase()).as_bytes());
    SourceId::new("email", &format!("mid:{}", hex::encode(digest)))
}

/// Every clue `parsed` carries, strongest first; `own_domains` are the domains our
/// reply addresses are on (a token is only looked for there; empty: anywhere).
pub fn thread_refs(parsed: &ParsedEmail, own_domains: &[String]) -> Vec<ThreadRef> {
    let mut ids: Vec<&str> = Vec::new();
    for id in parsed
        .in_reply_to
        .iter()
        .chain(parsed.references.iter().rev())
    {
        let id = id.trim();
        if !id.is_empty() && !ids.contains(&id) && ids.len() < MAX_REFERENCED_IDS {
            ids.push(id);
        }
    }
    let from = parsed.from.as_ref().map(|m| m.address.as_str().to_owned());
    let mut refs = Vec::new();
    for id in ids {
        refs.push(ThreadRef::Provider {
            id: provider_key(id),
        });
        if let Some(from) = &from {
            refs.push(ThreadRef::Source {
                id: customer_key(from, id),
            });
        }
    }
    for address in &parsed.recipients {
        if let Some(token) = address_token(address, own_domains)
            && !refs
                .iter()
                .any(|r| matches!(r, ThreadRef::Token { token: t } if *t == token))
        {
            refs.push(ThreadRef::Token { token });
        }
    }
    if let Some(id) = parsed.subject.as_deref().and_then(subject_reference) {
        refs.push(ThreadRef::Subject { id });
    }
    refs
}

/// `support+<token>@domain` → `<token>`, when `domain` is ours.
fn address_token(address: &str, own_domains: &[String]) -> Option<String> {
    let (local, domain) = address.rsplit_once('@')?;
    let domain = domain.to_ascii_lowercase();
    if !own_domains.is_empty() && !own_domains.contains(&domain) {
        return None;
    }
    let (_, token) = local.split_once('+')?;
    let ok = !token.is_empty()
        && token.len() <= 64
        && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
    ok.then(|| token.to_ascii_lowercase())
}

/// The conversation a subject names: `Re: Kettle [#cv_01jd…]`.
pub fn subject_reference(subject: &str) -> Option<ConversationId> {
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        let after = &rest[start + 2..];
        let Some(end) = after.find(']') else { break };
        if let Ok(id) = after[..end].trim().parse() {
            return Some(id);
        }
        rest = after;
    }
    None
}

/// The subject of our reply: the customer's without its reply prefixes (`Re:`, `RE:`,
/// `AW:`, `Fwd:`, `پاسخ:`, …) and without an earlier reference, then `Re: ` before it
/// and the conversation's reference after it.
pub fn reply_subject(subject: Option<&str>, conversation: ConversationId) -> String {
    let base = strip_reply_prefixes(subject.unwrap_or_default());
    let base = match base.find(&format!("[#{conversation}]")) {
        Some(at) => format!(
            "{}{}",
            &base[..at],
            &base[at + conversation.to_string().len() + 3..]
        ),
        None => base.to_owned(),
    };
    let base = base.trim();
    if base.is_empty() {
        format!("[#{conversation}]")
    } else {
        format!("Re: {base} [#{conversation}]")
    }
}

/// Reply and forward prefixes as Gmail, Outlook and localized clients write them.
const PREFIXES: &[&str] = &[
    "re", "aw", "sv", "vs", "antw", "wg", "fw", "fwd", "tr", "rif", "res", "odp", "ynt", "回复",
    "答复", "پاسخ", "رد", "جواب",
];

pub fn strip_reply_prefixes(subject: &str) -> &str {
    let mut rest = subject.trim();
    loop {
        let Some((head, tail)) = rest.split_once([':', '：']) else {
            return rest;
        };
        // `Re[2]:` and `RE (2):` count too.
        let word = head
            .trim()
            .trim_end_matches(|c: char| c.is_ascii_digit() || "[]() ".contains(c));
        if PREFIXES.iter().any(|p| word.eq_ignore_ascii_case(p)) {
            rest = tail.trim_start();
        } else {
            return rest;
        }
    }
}

/// Signs and checks reply tokens: `<conversation ulid>.<hmac>`, lower-case, so the
/// token survives mail systems that lower-case addresses. Only a token we signed leads
/// to a conversation.
#[derive(Clone)]
pub struct ReplyTokens {
    key: Vec<u8>,
}

impl std::fmt::Debug for ReplyTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplyTokens(…)")
    }
}

impl ReplyTokens {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self, ulid: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable_mac());
        mac.update(b"email-reply-token\n");
        mac.update(ulid.as_bytes());
        let mut hex = hex::encode(mac.finalize().into_bytes());
        hex.truncate(TOKEN_MAC_HEX);
        hex
    }

    pub fn token(&self, conversation: ConversationId) -> String {
        let ulid = conversation.ulid().to_string().to_ascii_lowercase();
        let mac = self.mac(&ulid);
        format!("{ulid}.{mac}")
    }

    /// `local+<token>@domain` for `address` (`support@domain`).
    pub fn reply_address(&self, address: &str, conversation: ConversationId) -> String {
        match address.rsplit_once('@') {
            Some((local, domain)) => {
                let local = local.split_once('+').map_or(local, |(l, _)| l);
                format!("{local}+{}@{domain}", self.token(conversation))
            }
            None => address.to_owned(),
        }
    }

    /// The conversation a token names, if we signed it.
    pub fn verify(&self, token: &str) -> Option<ConversationId> {
        let (ulid, mac) = token.split_once('.')?;
        let expected = self.mac(&ulid.to_ascii_lowercase());
        let ok: bool =
            subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), mac.to_ascii_lowercase().as_bytes())
                .into();
        if !ok {
            return None;
        }
        format!("{}_{ulid}", ConversationId::PREFIX).parse().ok()
    }
}

/// HMAC takes keys of any length: `new_from_slice` cannot fail for it.
fn unreachable_mac() -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(b"-").unwrap_or_else(|_| unreachable_mac())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::email::{ParseSettings, parse_email};

    #[test]
    fn a_token_leads_back_to_its_conversation_and_a_forged_one_nowhere() {
        let tokens = ReplyTokens::new(b"key one");
        let id = ConversationId::new();
        let token = tokens.token(id);
        assert_eq!(tokens.verify(&token), Some(id));
        assert_eq!(tokens.verify(&token.to_ascii_uppercase()), Some(id));
        assert_eq!(ReplyTokens::new(b"key two").verify(&token), None);
        let other = ConversationId::new();
        let (_, mac) = token.split_once('.').unwrap();
        let forged = format!("{}.{mac}", other.ulid().to_string().to_lowercase());
        assert_eq!(tokens.verify(&forged), None);
        for junk in ["", ".", "abc", "x.y", &format!("{token}0")] {
            assert_eq!(tokens.verify(junk), None, "{junk}");
        }
        let address = tokens.reply_address("support+old@switchboard.test", id);
        assert_eq!(address, format!("support+{token}@switchboard.test"));
    }

    #[test]
    fn reply_prefixes_of_every_client_are_stripped() {
        for (subject, expected) in [
            ("Re: Kettle", "Kettle"),
            ("RE: AW: Kettle", "Kettle"),
            ("Re[2]: Kettle", "Kettle"),
            ("پاسخ: کتری", "کتری"),
            ("Fwd: RE: Kettle: broken", "Kettle: broken"),
            ("Kettle: broken", "Kettle: broken"),
            ("Re:", ""),
        ] {
            assert_eq!(strip_reply_prefixes(subject), expected, "{subject}");
        }
        let id = ConversationId::new();
        assert_eq!(
            reply_subject(Some(&format!("RE: Re: Kettle [#{id}]")), id),
            format!("Re: Kettle [#{id}]")
        );
        assert_eq!(reply_subject(None, id), format!("[#{id}]"));
    }

    #[test]
    fn the_subject_names_a_conversation_only_by_a_valid_id() {
        let id = ConversationId::new();
        assert_eq!(
            subject_reference(&format!("AW: Kettle [#nope] [#{id}]")),
            Some(id)
        );
        assert_eq!(subject_reference("Kettle [#cv_123]"), None);
        assert_eq!(subject_reference("Kettle [#"), None);
    }

    #[test]
    fn ses_ids_match_whatever_regional_host_the_customer_answers() {
        assert_eq!(
            provider_key("<0100abc@eu-west-1.amazonses.com>"),
            provider_key("0100abc@email.amazonses.com")
        );
        assert_eq!(provider_key("<m1@x.test>"), "email:m1@x.test");
    }

    #[test]
    fn an_outlook_reply_without_in_reply_to_is_threaded_by_its_references() {
        let raw = b"From: Sara <Sara@Example.com>\r\nTo: Support <support+tok123@switchboard.test>, other+x@elsewhere.test\r\n\
            Subject: RE: Kettle\r\nMessage-ID: <o2@example.com>\r\n\
            References: <c1@example.com> <r1@switchboard.test>\r\nThread-Index: AQHZ\r\n\r\nthanks\r\n";
        let parsed = parse_email(raw, &ParseSettings::default()).unwrap();
        let refs = thread_refs(&parsed, &["switchboard.test".into()]);
        assert_eq!(
            refs,
            vec![
                ThreadRef::Provider {
                    id: "email:r1@switchboard.test".into()
                },
                ThreadRef::Source {
                    id: customer_key("sara@example.com", "r1@switchboard.test")
                },
                ThreadRef::Provider {
                    id: "email:c1@example.com".into()
                },
                ThreadRef::Source {
                    id: customer_key("sara@example.com", "c1@example.com")
                },
                ThreadRef::Token {
                    token: "tok123".into()
                },
            ]
        );
    }

    #[test]
    fn a_hostile_references_header_is_looked_up_only_so_far() {
        let ids: String = (0..5000).map(|n| format!("<{n}@spam.test> ")).collect();
        let raw = format!("From: a@example.com\r\nReferences: {ids}\r\n\r\nhi\r\n");
        let parsed = parse_email(raw.as_bytes(), &ParseSettings::default()).unwrap();
        assert_eq!(thread_refs(&parsed, &[]).len(), 2 * MAX_REFERENCED_IDS);
    }
}
