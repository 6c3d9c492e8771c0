//! One signed POST to a subscription's endpoint, through the resolver that refuses
//! internal addresses, without following redirects.

use super::retry::parse_retry_after;
use super::signing::signatures;
use super::target::TargetPolicy;
use crate::model::{AttemptOutcome, Subscription};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an endpoint has to answer, its whole answer read.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of an answer read (and kept in the delivery log); the rest is never read, so an
/// endpoint that answers without end costs no memory.
pub const KEPT_ANSWER_BYTES: usize = 512;

pub struct WebhookClient {
    http: reqwest::Client,
    pub policy: Arc<TargetPolicy>,
}

/// What a try got: the outcome for the log, and how long the endpoint asked us to wait.
pub struct Posted {
    pub outcome: AttemptOutcome,
    pub retry_after: Option<Duration>,
}

impl WebhookClient {
    pub fn new(policy: TargetPolicy) -> Result<Self, String> {
        let policy = Arc::new(policy);
        let tls = crate::tls::client_config()?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            .dns_resolver(policy.resolver())
            // A proxy would resolve the name itself, past the resolver's check.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(TIMEOUT)
            .user_agent("Switchboard-Webhooks/1")
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self { http, policy })
    }

    /// POSTs `body` to the subscription as delivery `id`.
    pub async fn post(&self, webhook: &Subscription, id: &str, body: Vec<u8>) -> Posted {
        let at = chrono::Utc::now();
        let started = Instant::now();
        let failed = |reason: String| Posted {
            outcome: AttemptOutcome {
                at,
                response_status: None,
                response: Some(reason),
                duration_ms: started.elapsed().as_millis() as u64,
            },
            retry_after: None,
        };
        // The URL was checked when it was saved; the rules may have changed since.
        let url = match self.policy.check_url(&webhook.url) {
            Ok(url) => url,
            Err(reason) => return failed(format!("not sent: {reason}")),
        };
        let timestamp = at.timestamp();
        let signed = match signatures(&webhook.signing_secrets(at), id, timestamp, &body) {
            Ok(signed) => signed,
            Err(reason) => return failed(format!("not sent: {reason}")),
        };
        let sent = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signed)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return failed(describe(&e)),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        let answer = answer_start(response).await;
        Posted {
            outcome: AttemptOutcome {
                at,
                response_status: Some(status),
                response: Some(answer),
                duration_ms: started.elapsed().as_millis() as u64,
            },
            retry_after,
        }
    }
}

/// The first [`KEPT_ANSWER_BYTES`] of an answer, as text; the connection is dropped
/// after them.
async fn answer_start(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::with_capacity(KEPT_ANSWER_BYTES);
    while bytes.len() < KEPT_ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            // The end, or a failure mid-answer: the status already said how it went.
            Ok(None) | Err(_) => break,
        }
    }
    bytes.truncate(KEPT_ANSWER_BYTES);
    let text = String::from_utf8_lossy(&bytes);
    // A character cut in two at the end is dropped, not shown as a replacement.
    text.trim_end_matches('\u{fffd}').to_owned()
}

/// A transport failure in words, with its causes (the resolver's refusal among them).
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "no answer in time".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
