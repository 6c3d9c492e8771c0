//! Customer-page links: unguessable tokens derived from the submission, so a retried
//! submission gets the same link. Only the token's hash is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

#[derive(Clone)]
pub struct LinkSigner {
    secret: Vec<u8>,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(..)")
    }
}

impl LinkSigner {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            secret: secret.to_vec(),
        }
    }

    /// The token for the message with this source id.
    pub fn token_for(&self, source_id: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable_key());
        mac.update(b"customer-link\0");
        mac.update(source_id.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

fn unreachable_key() -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this only satisfies the type.
    Hmac::<Sha256>::new_from_slice(b"k").unwrap_or_else(|_| std::process::abort())
}

/// What the store keeps for a token.
pub fn link_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A token has the shape we issue: 43 characters of URL-safe base64.
pub fn is_token_shaped(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_submission_gets_the_same_link_and_others_do_not() {
        let signer = LinkSigner::new(b"secret");
        assert_eq!(signer.token_for("webform:a"), signer.token_for("webform:a"));
        assert_ne!(signer.token_for("webform:a"), signer.token_for("webform:b"));
        assert_ne!(
            LinkSigner::new(b"other").token_for("webform:a"),
            signer.token_for("webform:a")
        );
        assert!(is_token_shaped(&signer.token_for("x")));
    }
}
