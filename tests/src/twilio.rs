//! Twilio webhook calls as Twilio makes them (form posts, signed), and an app wired to a
//! fake REST API.

use crate::{App, FakeTwilio};
use reqwest::Response;
use shared::channels::twilio::signature;

pub const ACCOUNT_SID: &str = "ACe2e0000000000000000000000000e2e0";
pub const AUTH_TOKEN: &str = "e2e-twilio-auth-token-0123456789";
/// The public base URL the app is told Twilio calls; signatures cover it.
pub const PUBLIC_URL: &str = "https://support.example.com";
pub const OUR_NUMBER: &str = "+14155550100";

/// The environment that turns the Twilio channel on against `fake`.
pub fn twilio_env(fake: &FakeTwilio) -> Vec<(&'static str, String)> {
    vec![
        ("SWITCHBOARD_TWILIO_ACCOUNT_SID", ACCOUNT_SID.to_string()),
        ("SWITCHBOARD_TWILIO_AUTH_TOKEN", AUTH_TOKEN.to_string()),
        ("SWITCHBOARD_TWILIO_API_URL", fake.url().to_string()),
        ("SWITCHBOARD_TWILIO_PUBLIC_URL", PUBLIC_URL.to_string()),
        ("SWITCHBOARD_TWILIO_FROM", OUR_NUMBER.to_string()),
    ]
}

/// The signature Twilio would send for `params` posted to `path`.
pub fn twilio_signature(path: &str, params: &[(String, String)]) -> String {
    signature::sign(AUTH_TOKEN, &format!("{PUBLIC_URL}{path}"), params)
}

/// A fresh message SID (`SM` + 32 hex digits) for each call.
pub fn new_sid(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    format!(
        "{prefix}{:016x}{:016x}",
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The form parameters of an incoming SMS from `from`.
pub fn sms_params(sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    [
        ("ToCountry", "US"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", OUR_NUMBER),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", from),
        ("ApiVersion", "2010-04-01"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl App {
    /// Starts the server with the Twilio channel on, talking to `fake`.
    pub async fn spawn_with_twilio(fake: &FakeTwilio, extra: &[(&str, &str)]) -> App {
        let env = twilio_env(fake);
        let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(extra);
        App::spawn_with(&all).await
    }

    /// Posts `params` to `path` signed as Twilio signs (or with `signature` instead).
    pub async fn post_twilio_signed(
        &self,
        path: &str,
        params: &[(String, String)],
        signature: Option<&str>,
    ) -> Response {
        let computed = twilio_signature(path, params);
        let mut request = self
            .http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(params).expect("the form encodes"));
        match signature {
            Some("") => {}
            Some(other) => request = request.header(signature::HEADER, other),
            None => request = request.header(signature::HEADER, computed),
        }
        request.send().await.expect("the app answers")
    }

    /// Posts a signed Twilio call and asserts Twilio would see 200 with TwiML.
    pub async fn post_twilio(&self, path: &str, params: &[(String, String)]) -> String {
        let response = self.post_twilio_signed(path, params, None).await;
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status.as_u16(), 200, "{path} answered {status}: {text}");
        assert_eq!(content_type, "text/xml", "{text}");
        text
    }
}
