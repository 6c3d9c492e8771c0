//! How a PBX signs its calls to `POST /webhooks/pbx`: `X-Switchboard-Timestamp` holds
//! the Unix time in seconds it sent the call, and `X-Switchboard-Signature` holds
//! `sha256=` and the hex HMAC-SHA256, keyed by the shared secret, of
//! `<timestamp>.<body>`. A call outside the time window is refused, so a recorded call
//! cannot be replayed later.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const TIMESTAMP_HEADER: &str = "x-switchboard-timestamp";
pub const SIGNATURE_HEADER: &str = "x-switchboard-signature";

/// The signature header's value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm never runs.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks the two headers against the body; the timestamp is returned when they hold.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
    window_secs: i64,
) -> Result<i64, &'static str> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err("the X-Switchboard-Timestamp or X-Switchboard-Signature header is missing");
    };
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| "X-Switchboard-Timestamp is not Unix seconds")?;
    let expected = sign(secret, timestamp, body);
    if !bool::from(expected.as_bytes().ct_eq(signature.trim().as_bytes())) {
        return Err("the signature is wrong");
    }
    if now.abs_diff(timestamp) > window_secs.unsigned_abs() {
        return Err("the timestamp is outside the allowed window");
    }
    Ok(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_call_within_the_window_passes() {
        let body = br#"{"event":"newCall","callId":"1"}"#;
        let sig = sign("s3cret", 1_700_000_000, body);
        assert!(sig.starts_with("sha256=") && sig.len() == 71);
        assert_eq!(
            verify(
                "s3cret",
                Some("1700000000"),
                Some(&sig),
                body,
                1_700_000_100,
                300
            ),
            Ok(1_700_000_000)
        );
    }

    #[test]
    fn a_signed_timestamp_at_the_ends_of_the_range_is_refused_without_overflow() {
        let body = b"event=hangup&callId=1";
        for ts in [i64::MIN, i64::MAX] {
            let sig = sign("s3cret", ts, body);
            assert_eq!(
                verify(
                    "s3cret",
                    Some(&ts.to_string()),
                    Some(&sig),
                    body,
                    1_700_000_000,
                    300
                ),
                Err("the timestamp is outside the allowed window")
            );
        }
    }

    #[test]
    fn forged_stale_and_missing_signatures_fail() {
        let body = b"event=hangup&callId=1";
        let sig = sign("s3cret", 1_700_000_000, body);
        let check = |ts: Option<&str>, sig: Option<&str>, body: &[u8], now| {
            verify("s3cret", ts, sig, body, now, 300)
        };
        assert!(check(None, Some(&sig), body, 1_700_000_000).is_err());
        assert!(check(Some("1700000000"), None, body, 1_700_000_000).is_err());
        assert!(
            check(
                Some("1700000000"),
                Some(&sig),
                b"event=answer",
                1_700_000_000
            )
            .is_err()
        );
        assert!(check(Some("1700000001"), Some(&sig), body, 1_700_000_000).is_err());
        assert!(check(Some("soon"), Some(&sig), body, 1_700_000_000).is_err());
        assert_eq!(
            check(Some("1700000000"), Some(&sig), body, 1_700_000_301),
            Err("the timestamp is outside the allowed window")
        );
        let other = sign("other", 1_700_000_000, body);
        assert!(check(Some("1700000000"), Some(&other), body, 1_700_000_000).is_err());
    }
}
