//! Requests to AWS signed with Signature Version 4 (`aws-sigv4`, the SDK's own signer) and
//! sent over the process's [`HttpsClient`], for the calls that do not take a whole SDK
//! client: an S3 object written or read, one SSM parameter, the seven SQS calls. Each SDK client links its
//! service's every operation; the S3 one also brings `crc-fast`, whose lookup tables for
//! some sixty CRC algorithms are 0.65 MB of every function that stores a file.
//!
//! Retries follow the SDK's standard mode where it matters here: up to three attempts, with
//! a jittered exponential backoff, for an answer AWS marks as "try again" (throttling,
//! 5xx) and for a request that got no answer at all.

use super::errors::classify;
use super::https::HttpsClient;
use crate::ports::{PortError, PortResult};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use rand::Rng;
use std::time::{Duration, SystemTime};

pub(crate) const MAX_ATTEMPTS: u32 = 3;
const BACKOFF_BASE: Duration = Duration::from_millis(100);

/// Where and as whom a process calls AWS.
#[derive(Clone, Debug)]
pub struct SignedRequests {
    http: HttpsClient,
    credentials: SharedCredentialsProvider,
    region: String,
    /// An emulator's address (`AWS_ENDPOINT_URL`) in place of every service's own.
    endpoint: Option<String>,
}

/// The service a request is signed for, and how that service wants it signed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Service {
    S3,
    Sqs,
    Ssm,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::S3 => "s3",
            Service::Sqs => "sqs",
            Service::Ssm => "ssm",
        }
    }

    fn settings(self) -> SigningSettings {
        let mut settings = SigningSettings::default();
        if let Service::S3 = self {
            // S3 wants the payload's hash in a header, and its paths signed as sent.
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        }
        settings
    }
}

/// An answer from AWS, read whole.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl SignedRequests {
    pub fn new(
        http: HttpsClient,
        credentials: SharedCredentialsProvider,
        region: impl Into<String>,
        endpoint: Option<String>,
    ) -> Self {
        Self {
            http,
            credentials,
            region: region.into(),
            endpoint: endpoint.map(|e| e.trim_end_matches('/').to_owned()),
        }
    }

    pub(crate) fn region(&self) -> &str {
        &self.region
    }

    pub(crate) fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// Sends a request, signed, retrying what is worth retrying. `operation` names the
    /// call in errors ("s3:GetObject"). Any answer that is not a 2xx and not one of
    /// `expected` becomes a [`PortError`] classified from its status and error code.
    pub(crate) async fn send(
        &self,
        operation: &str,
        service: Service,
        request: http::Request<Bytes>,
        expected: &[u16],
    ) -> PortResult<Answer> {
        let mut attempt = 1;
        loop {
            let failure = match self.send_once(service, &request).await {
                Ok(answer)
                    if (200..300).contains(&answer.status) || expected.contains(&answer.status) =>
                {
                    return Ok(answer);
                }
                Ok(answer) => refusal(operation, &answer),
                Err(error) => PortError::Unavailable(format!("{operation}: {error}")),
            };
            if !matches!(failure, PortError::Unavailable(_)) || attempt == MAX_ATTEMPTS {
                return Err(failure);
            }
            tracing::debug!(operation, attempt, error = %failure, "retrying");
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        }
    }

    async fn send_once(
        &self,
        service: Service,
        request: &http::Request<Bytes>,
    ) -> Result<Answer, String> {
        let mut request = request.clone();
        self.sign(service, &mut request).await?;
        let response = self
            .http
            .send(request.map(SdkBody::from))
            .await
            .map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        Ok(Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    async fn sign(
        &self,
        service: Service,
        request: &mut http::Request<Bytes>,
    ) -> Result<(), String> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| format!("no credentials: {e}"))?;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(service.name())
            .time(SystemTime::now())
            .settings(service.settings())
            .build()
            .map_err(|e| format!("signing: {e}"))?
            .into();
        let uri = request.uri().to_string();
        let headers = request
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str(), value.to_str().unwrap_or_default()));
        let signable = SignableRequest::new(
            request.method().as_str(),
            &uri,
            headers,
            SignableBody::Bytes(request.body()),
        )
        .map_err(|e| format!("signing: {e}"))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| format!("signing: {e}"))?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}

/// Full jitter over an exponential ceiling: 0–100 ms, then 0–200 ms.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE * 2u32.pow(attempt - 1);
    ceiling.mul_f64(rand::rng().random::<f64>())
}

/// An answer AWS refused, as a port error. The error code is in an XML body (S3), a JSON
/// body (`__type`, SSM) or the `x-amz-error-code`/`x-amzn-errortype` header.
pub(crate) fn refusal(operation: &str, answer: &Answer) -> PortError {
    let body = String::from_utf8_lossy(&answer.body);
    let header = |name: &str| {
        answer
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(':').next().unwrap_or(v).to_owned())
    };
    let code = xml_element(&body, "Code")
        .or_else(|| json_type(&body))
        .or_else(|| header("x-amzn-errortype"))
        .or_else(|| header("x-amz-error-code"));
    let message = xml_element(&body, "Message")
        .or_else(|| json_message(&body))
        .unwrap_or_default();
    let text = format!(
        "{operation}: {} {}: {message}",
        answer.status,
        code.as_deref().unwrap_or("no error code"),
    );
    classify(code.as_deref(), Some(answer.status), text)
}

/// The text of the first `<name>` element of an S3 error document.
pub(crate) fn xml_element(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{name}>"))? + start;
    Some(body[start..end].trim().to_owned())
}

/// A JSON error's type: `"__type": "com.amazon…#ParameterNotFound"` → `ParameterNotFound`.
pub(crate) fn json_type(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let kind = value.get("__type")?.as_str()?;
    Some(kind.rsplit('#').next().unwrap_or(kind).to_owned())
}

fn json_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let message = value.get("message").or_else(|| value.get("Message"))?;
    Some(message.as_str()?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: http::HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn s3_and_ssm_refusals_are_classified_by_their_codes() {
        let slow_down = answer(
            503,
            "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>",
        );
        let error = refusal("s3:PutObject", &slow_down);
        assert!(matches!(error, PortError::Unavailable(_)), "{error:?}");
        assert!(error.to_string().contains("SlowDown"), "{error}");

        let denied = answer(
            403,
            "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
        );
        assert!(matches!(
            refusal("s3:GetObject", &denied),
            PortError::Internal(_)
        ));

        let throttled = answer(
            400,
            r#"{"__type":"com.amazonaws.ssm#ThrottlingException","message":"Rate exceeded"}"#,
        );
        let error = refusal("ssm:GetParameter", &throttled);
        assert!(matches!(error, PortError::Unavailable(_)), "{error:?}");
        assert!(error.to_string().contains("Rate exceeded"), "{error}");

        let missing = answer(400, r#"{"__type":"ParameterNotFound","message":""}"#);
        assert!(matches!(
            refusal("ssm:GetParameter", &missing),
            PortError::Internal(_)
        ));
    }

    /// A local server answering as S3 does; counts the requests it gets per path.
    async fn fake_s3(
        answer: fn(&str, usize) -> (u16, &'static str),
    ) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use axum::http::{StatusCode, Uri};
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: axum::http::HeaderMap| {
            let log = log.clone();
            async move {
                let path = uri.path().to_owned();
                assert!(
                    headers.contains_key("authorization") && headers.contains_key("x-amz-date"),
                    "every request is signed"
                );
                let count = {
                    let mut log = log.lock().unwrap();
                    log.push(path.clone());
                    log.iter().filter(|p| **p == path).count()
                };
                let (status, body) = answer(&path, count);
                (StatusCode::from_u16(status).unwrap(), body)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{address}"), seen)
    }

    fn requests(endpoint: String) -> SignedRequests {
        SignedRequests::new(
            HttpsClient::new().unwrap(),
            SharedCredentialsProvider::new(aws_credential_types::Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            )),
            "us-east-1",
            Some(endpoint),
        )
    }

    const SLOW_DOWN: &str =
        "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>";
    const DENIED: &str = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";

    #[tokio::test]
    async fn throttling_is_retried_until_it_passes_and_a_refusal_is_not_retried() {
        use crate::aws::S3Blobs;
        use crate::ports::{Blob, BlobStore};
        let (endpoint, seen) = fake_s3(|path, count| match path {
            "/bucket/slow" if count < 3 => (503, SLOW_DOWN),
            "/bucket/slow" => (200, ""),
            "/bucket/always-slow" => (503, SLOW_DOWN),
            _ => (403, DENIED),
        })
        .await;
        let blobs = S3Blobs::new(requests(endpoint), "bucket");
        let blob = || Blob {
            content_type: "text/plain".into(),
            bytes: b"hello".to_vec(),
        };

        blobs.put("slow", blob()).await.unwrap();
        let error = blobs.put("always-slow", blob()).await.unwrap_err();
        assert!(matches!(error, PortError::Unavailable(_)), "{error:?}");
        let error = blobs.get("denied").await.unwrap_err();
        assert!(
            matches!(&error, PortError::Internal(text) if text.contains("AccessDenied")),
            "{error:?}"
        );

        let seen = seen.lock().unwrap().clone();
        let count = |path: &str| seen.iter().filter(|p| *p == path).count();
        assert_eq!(
            count("/bucket/slow"),
            3,
            "two throttled tries, then success"
        );
        assert_eq!(count("/bucket/always-slow"), MAX_ATTEMPTS as usize);
        assert_eq!(count("/bucket/denied"), 1, "a refusal is final");
    }

    #[tokio::test]
    async fn no_answer_at_all_is_unavailable_after_the_retries() {
        // A port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let aws = requests(format!("http://127.0.0.1:{port}"));
        let error = aws.secret_parameter("/x").await.unwrap_err();
        assert!(matches!(error, PortError::Unavailable(_)), "{error:?}");
    }

    #[test]
    fn backoff_stays_under_its_ceiling() {
        for attempt in 1..MAX_ATTEMPTS {
            let ceiling = BACKOFF_BASE * 2u32.pow(attempt - 1);
            assert!((0..50).all(|_| backoff(attempt) <= ceiling));
        }
    }
}
