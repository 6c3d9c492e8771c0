//! The Twilio REST API over HTTP: send an SMS, download a message's media. Basic auth
//! with the account SID and auth token; the token never appears in an error.
//!
//! <https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource>

use super::outbound::classify;
use crate::config::{Secret, TwilioSender};
use crate::ports::{FetchError, SendError};
use serde::Deserialize;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct TwilioApi {
    http: reqwest::Client,
    /// `https://api.twilio.com`, or a stand-in.
    base: String,
    account_sid: String,
    auth_token: Secret,
}

/// The part of a created Message resource we keep.
#[derive(Clone, Debug, Deserialize)]
struct Created {
    sid: String,
}

/// One SMS to send.
#[derive(Clone, Debug)]
pub struct Sms<'a> {
    pub to: &'a str,
    pub from: &'a TwilioSender,
    pub body: &'a str,
    /// Where Twilio reports delivery (`…/webhooks/twilio/status`).
    pub status_callback: Option<&'a str>,
}

impl TwilioApi {
    pub fn new(base: &str, account_sid: &str, auth_token: Secret) -> Result<Self, String> {
        let tls = crate::tls::client_config()?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            account_sid: account_sid.to_owned(),
            auth_token,
        })
    }

    fn network(e: &reqwest::Error) -> String {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    }

    /// Creates a Message resource; returns its SID (`SM…`).
    pub async fn send_sms(&self, sms: &Sms<'_>) -> Result<String, SendError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base, self.account_sid
        );
        let mut form: Vec<(&str, &str)> = vec![("To", sms.to), ("Body", sms.body)];
        match sms.from {
            TwilioSender::From(number) => form.push(("From", number.as_str())),
            TwilioSender::MessagingService(sid) => form.push(("MessagingServiceSid", sid)),
        }
        if let Some(callback) = sms.status_callback {
            form.push(("StatusCallback", callback));
        }
        let response = self
            .http
            .post(url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(&form)
            .send()
            .await
            .map_err(|e| SendError::Retryable {
                reason: format!("cannot reach Twilio: {}", Self::network(&e)),
                retry_after: None,
            })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response.bytes().await.map_err(|e| SendError::Retryable {
            reason: format!("Twilio's answer broke off: {}", Self::network(&e)),
            retry_after: None,
        })?;
        if (200..300).contains(&status) {
            return serde_json::from_slice::<Created>(&bytes)
                .map(|c| c.sid)
                .map_err(|_| SendError::Permanent {
                    reason: "Twilio took the SMS but its answer had no sid".into(),
                });
        }
        Err(classify(status, &bytes, retry_after))
    }

    /// Downloads a `MediaUrl` of an incoming message. Only URLs on the configured API
    /// host get the account's credentials; any other host is refused.
    pub async fn fetch_media(
        &self,
        url: &str,
        max_bytes: u64,
    ) -> Result<(Vec<u8>, Option<String>), FetchError> {
        if !same_origin(url, &self.base) {
            return Err(FetchError::Permanent(
                "the media URL is not on Twilio's API host".into(),
            ));
        }
        let mut response = self
            .http
            .get(url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .send()
            .await
            .map_err(|e| {
                FetchError::Retryable(format!("cannot reach Twilio: {}", Self::network(&e)))
            })?;
        let status = response.status().as_u16();
        match status {
            200..=299 => {}
            429 | 500..=599 => {
                return Err(FetchError::Retryable(format!(
                    "Twilio answered HTTP {status}"
                )));
            }
            _ => {
                return Err(FetchError::Permanent(format!(
                    "Twilio answered HTTP {status} for the media"
                )));
            }
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let too_large = || {
            FetchError::Permanent(format!(
                "larger than {} MB: not downloaded",
                max_bytes / 1024 / 1024
            ))
        };
        if response.content_length().is_some_and(|len| len > max_bytes) {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            FetchError::Retryable(format!("the download broke off: {}", Self::network(&e)))
        })? {
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((bytes, content_type))
    }
}

/// Whether `url` has the scheme, host and port of `base`.
fn same_origin(url: &str, base: &str) -> bool {
    match (url::Url::parse(url), url::Url::parse(base)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::same_origin;

    #[test]
    fn credentials_go_only_to_the_api_host() {
        let base = "https://api.twilio.com";
        assert!(same_origin(
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
            base
        ));
        assert!(!same_origin("https://api.twilio.com.evil.example/x", base));
        assert!(!same_origin("http://api.twilio.com/x", base));
        assert!(!same_origin("http://127.0.0.1:9/x", base));
    }
}
