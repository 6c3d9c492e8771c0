//! Twilio REST answers → sent, retryable or permanent; replies → SMS bodies. Pure.
//!
//! <https://www.twilio.com/docs/api/errors>

use crate::ports::SendError;
use serde::Deserialize;
use std::time::Duration;

/// Most characters one `Messages` call takes; longer replies go out as several.
pub const MAX_BODY_CHARS: usize = 1600;

/// An error body of the REST API.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ApiError {
    pub code: Option<u32>,
    pub message: Option<String>,
}

/// What a `Messages.json` answer means. `retry_after` is the `Retry-After` header.
pub fn classify(status: u16, body: &[u8], retry_after: Option<Duration>) -> SendError {
    let error: ApiError = serde_json::from_slice(body).unwrap_or_default();
    let message: String = error
        .message
        .unwrap_or_else(|| format!("HTTP {status}"))
        .chars()
        .take(300)
        .collect();
    match (status, error.code) {
        (_, Some(21610)) => SendError::Permanent {
            reason: format!(
                "the customer replied STOP to our number and gets no SMS until they send START (Twilio 21610: {message})"
            ),
        },
        (_, Some(21211 | 21614)) => SendError::Permanent {
            reason: format!(
                "not a number that can get SMS (Twilio {}: {message})",
                error.code.unwrap_or_default()
            ),
        },
        (429, _) | (_, Some(20429)) => SendError::Retryable {
            reason: format!("Twilio is rate limiting us: {message}"),
            retry_after,
        },
        (500..=599, _) => SendError::Retryable {
            reason: format!("Twilio failed (HTTP {status}): {message}"),
            retry_after,
        },
        (401 | 403, _) => SendError::Permanent {
            reason: format!("Twilio refused our credentials (HTTP {status}): {message}"),
        },
        (_, Some(code)) => SendError::Permanent {
            reason: format!("Twilio refused the SMS (error {code}): {message}"),
        },
        _ => SendError::Permanent {
            reason: format!("Twilio refused the SMS (HTTP {status}): {message}"),
        },
    }
}

/// A reply as SMS bodies of at most [`MAX_BODY_CHARS`], cut at paragraph, line or word
/// boundaries when one is near.
pub fn bodies(text: &str) -> Vec<String> {
    crate::channels::telegram::outbound::split_text(text, MAX_BODY_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_and_invalid_numbers_are_permanent() {
        let stop = classify(
            400,
            br#"{"code":21610,"message":"Attempt to send to unsubscribed recipient","more_info":"https://www.twilio.com/docs/errors/21610","status":400}"#,
            None,
        );
        assert!(
            matches!(&stop, SendError::Permanent { reason } if reason.contains("STOP")),
            "{stop:?}"
        );
        let invalid = classify(
            400,
            br#"{"code":21211,"message":"The 'To' number +1555 is not a valid phone number.","status":400}"#,
            None,
        );
        assert!(matches!(&invalid, SendError::Permanent { reason } if reason.contains("21211")));
    }

    #[test]
    fn rate_limits_and_outages_are_retried() {
        let limited = classify(429, b"", Some(Duration::from_secs(3)));
        assert_eq!(
            limited,
            SendError::Retryable {
                reason: "Twilio is rate limiting us: HTTP 429".into(),
                retry_after: Some(Duration::from_secs(3)),
            }
        );
        assert!(matches!(
            classify(503, b"<html>", None),
            SendError::Retryable { .. }
        ));
        assert!(matches!(
            classify(401, br#"{"code":20003,"message":"Authenticate"}"#, None),
            SendError::Permanent { .. }
        ));
    }

    #[test]
    fn long_replies_are_cut_into_bodies_that_fit() {
        let text = format!(
            "{}\n\n{}",
            "word ".repeat(300).trim(),
            "کلمه ".repeat(300).trim()
        );
        let parts = bodies(&text);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.chars().count() <= MAX_BODY_CHARS));
        assert_eq!(parts.join("\n\n"), text);
        assert_eq!(bodies("short"), vec!["short"]);
    }
}
