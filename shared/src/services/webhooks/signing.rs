//! The Standard Webhooks signature: `Webhook-Signature: v1,<base64 HMAC-SHA256 of
//! "<id>.<timestamp>.<body>">`, keyed with the subscription's secret (`whsec_<base64>`),
//! so a receiver can check it with any of that scheme's libraries.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of a subscription's secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new secret: 24 random bytes, as the scheme writes them.
pub fn new_secret() -> String {
    let key: [u8; 24] = rand::random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The `Webhook-Signature` value for one try with each of `secrets`, space-separated (a
/// receiver accepts the request when one of them checks).
pub fn signatures(
    secrets: &[&str],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, String> {
    let signed = secrets
        .iter()
        .map(|secret| signature(secret, id, timestamp, body))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(signed.join(" "))
}

/// The `Webhook-Signature` value for one try.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(|_| "the webhook secret is not base64".to_owned())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in the Standard Webhooks specification.
    #[test]
    fn signs_the_specifications_example_as_it_does() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let sig = signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_new_secret_signs() {
        let secret = new_secret();
        assert!(secret.starts_with(SECRET_PREFIX));
        assert_ne!(secret, new_secret());
        assert!(signature(&secret, "a", 1, b"{}").is_ok());
        assert!(signature("whsec_!!", "a", 1, b"{}").is_err());
    }
}
