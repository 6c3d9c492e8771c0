//! A customer page's link, and the notice that carries an agent's reply to the email or
//! phone a web-form customer typed.
//!
//! The link's secret is derived from the installation's link secret and the id of the
//! submission that started the conversation (a ULID the server chose; nothing the client
//! sends goes into it). The store keeps only its hash, as before; whoever holds the link
//! secret can write the same link again where a reply is sent, so it is kept nowhere.

use crate::model::{Message, SourceId};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Where replies to web-form customers also go by email or SMS (to what they typed on
/// the submission), with the page's link: set when the installation can send either.
#[derive(Clone, Debug)]
pub struct PageNotices {
    pub links: PageLinks,
    /// Where the customer pages are served, as their links start
    /// (`https://support.example.com`).
    pub base_url: String,
    /// The pages' language (`en`, `fa`): the notice is written in it.
    pub language: String,
}

/// The provider part of a web-form submission's source id (`webform:<submission id>`).
pub const SUBMISSION_SOURCE: &str = "webform";

/// Derives customer-page links from the installation's link secret.
#[derive(Clone)]
pub struct PageLinks {
    secret: Vec<u8>,
}

impl std::fmt::Debug for PageLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageLinks(..)")
    }
}

impl PageLinks {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            secret: secret.to_vec(),
        }
    }

    /// The secret of the page a submission with `submission_id` started.
    pub fn token_for(&self, submission_id: &str) -> [u8; 32] {
        self.mac(&[b"customer-page", submission_id.as_bytes()])
    }

    /// An HMAC-SHA256 of `parts` under the link secret, each part ended by a NUL.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable_key());
        for part in parts {
            mac.update(part);
            mac.update(b"\0");
        }
        mac.finalize().into_bytes().into()
    }

    /// The page URL of the submission `message` is, under `base`; none for a message
    /// that is not a web-form submission.
    pub fn page_url(&self, base: &str, message: &Message) -> Option<String> {
        let submission = submission_id(message.source_id.as_ref()?)?;
        let token = URL_SAFE_NO_PAD.encode(self.token_for(submission));
        Some(format!("{}/c/{token}", base.trim_end_matches('/')))
    }
}

fn unreachable_key() -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this only satisfies the type.
    <Hmac<Sha256> as Mac>::new_from_slice(b"k").unwrap_or_else(|_| std::process::abort())
}

/// The submission id a web-form message's source id carries.
pub fn submission_id(source: &SourceId) -> Option<&str> {
    source
        .as_str()
        .strip_prefix(SUBMISSION_SOURCE)?
        .strip_prefix(':')
}

/// What the store keeps for a token.
pub fn link_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token a page URL ends with.
pub fn token_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or_default()
}

/// The text of the email or SMS that carries a reply to a web-form customer, in the
/// page's language: the reply, then where the whole conversation is (when the link is
/// known).
pub fn notice_text(language: &str, reply: &str, page_url: Option<&str>) -> String {
    let (intro, see) = if language == "fa" {
        (
            "پاسخ ما به پیامی که در فرم تماس فرستادید:",
            "گفت‌وگو را در صفحهٔ خود ببینید و پاسخ دهید:",
        )
    } else {
        (
            "Our answer to the message you sent with our contact form:",
            "See the whole conversation and answer on your page:",
        )
    };
    match page_url {
        Some(url) => format!("{intro}\n\n{reply}\n\n{see}\n{url}\n"),
        None => format!("{intro}\n\n{reply}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_depends_on_the_secret_and_the_submission_only() {
        let links = PageLinks::new(b"secret one");
        let a = links.token_for("01JD8X3M6K9Q0W5E2R7T4Y1V3H");
        assert_eq!(a, links.token_for("01JD8X3M6K9Q0W5E2R7T4Y1V3H"));
        assert_ne!(a, links.token_for("01JD8X3M6K9Q0W5E2R7T4Y1V3J"));
        assert_ne!(
            a,
            PageLinks::new(b"secret two").token_for("01JD8X3M6K9Q0W5E2R7T4Y1V3H")
        );
    }

    #[test]
    fn only_a_web_form_submission_names_one() {
        let submission = SourceId::new("webform", "01JD8X3M6K9Q0W5E2R7T4Y1V3H");
        assert_eq!(
            submission_id(&submission),
            Some("01JD8X3M6K9Q0W5E2R7T4Y1V3H")
        );
        assert_eq!(submission_id(&SourceId::new("webpage", "x")), None);
        assert_eq!(submission_id(&SourceId::new("webformx", "x")), None);
    }

    #[test]
    fn the_notice_carries_the_reply_and_the_page() {
        let text = notice_text(
            "en",
            "Your refund is on its way.",
            Some("https://s.example/c/abc"),
        );
        assert!(text.contains("Your refund is on its way."), "{text}");
        assert!(text.ends_with("https://s.example/c/abc\n"), "{text}");
        let persian = notice_text("fa", "بازپرداخت انجام شد.", None);
        assert!(persian.contains("بازپرداخت انجام شد.") && !persian.contains("/c/"));
    }
}
