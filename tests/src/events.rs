//! Event JSON as AWS hands it to a function: API Gateway HTTP API requests (payload
//! format 2.0), SQS batches from the event source mapping, EventBridge schedules. Built
//! field by field from AWS's documented examples, not from the Rust types the functions
//! read them into.

use aws_sdk_sqs::types::Message;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Where the test API is reached: an HTTP API's default endpoint.
pub const API_HOST: &str = "e2eapi0001.execute-api.us-east-1.amazonaws.com";

/// An HTTP request as a client sends it to API Gateway.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    pub method: &'static str,
    /// Path and query, e.g. `/v1/conversations?status=all`.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub cookies: Vec<String>,
    pub body: Option<Vec<u8>>,
    pub source_ip: String,
}

impl HttpRequest {
    pub fn new(method: &'static str, target: impl Into<String>) -> Self {
        Self {
            method,
            target: target.into(),
            headers: Vec::new(),
            cookies: Vec::new(),
            body: None,
            source_ip: "203.0.113.10".into(),
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub fn json(self, body: &Value) -> Self {
        self.header("content-type", "application/json")
            .body(body.to_string())
    }

    /// An urlencoded form body, as a browser or Twilio posts one.
    pub fn form<T: serde::Serialize + ?Sized>(self, fields: &T) -> Self {
        let body = serde_urlencoded::to_string(fields).expect("the form fields encode");
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }

    /// A cookie, as API Gateway passes them (`cookies`, apart from the headers).
    pub fn cookie(mut self, cookie: impl Into<String>) -> Self {
        self.cookies.push(cookie.into());
        self
    }

    pub fn from_ip(mut self, ip: &str) -> Self {
        self.source_ip = ip.into();
        self
    }

    /// The event API Gateway's HTTP API (payload 2.0, `$default` route and stage) sends.
    /// Like API Gateway, it base64-encodes bodies that are not JSON or text.
    pub fn event(&self) -> Value {
        let (path, query) = self
            .target
            .split_once('?')
            .unwrap_or((self.target.as_str(), ""));
        let user_agent = "Mozilla/5.0 (X11; Linux x86_64) switchboard-e2e";
        let mut headers: BTreeMap<String, String> = BTreeMap::from([
            ("host".into(), API_HOST.into()),
            ("user-agent".into(), user_agent.into()),
            (
                "x-amzn-trace-id".into(),
                "Root=1-67d2a8c0-0123456789abcdef01234567".into(),
            ),
            ("x-forwarded-for".into(), self.source_ip.clone()),
            ("x-forwarded-port".into(), "443".into()),
            ("x-forwarded-proto".into(), "https".into()),
        ]);
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        if let Some(body) = &self.body {
            headers.insert("content-length".into(), body.len().to_string());
        }
        let textual = headers
            .get("content-type")
            .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/"));
        let (body, encoded) = match &self.body {
            None => (Value::Null, false),
            Some(bytes) if textual => match std::str::from_utf8(bytes) {
                Ok(text) => (Value::from(text), false),
                Err(_) => (Value::from(BASE64.encode(bytes)), true),
            },
            Some(bytes) => (Value::from(BASE64.encode(bytes)), true),
        };
        let query_parameters: Map<String, Value> =
            serde_urlencoded::from_str::<Vec<(String, String)>>(query)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, Value::from(v)))
                .collect();
        let now = chrono::Utc::now();
        let mut event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "e2eapi0001",
                "domainName": API_HOST,
                "domainPrefix": "e2eapi0001",
                "http": {
                    "method": self.method,
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": self.source_ip,
                    "userAgent": user_agent
                },
                "requestId": crate::unique("apigw"),
                "routeKey": "$default",
                "stage": "$default",
                "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
                "timeEpoch": now.timestamp_millis()
            },
            "isBase64Encoded": encoded
        });
        if !query_parameters.is_empty() {
            event["queryStringParameters"] = Value::Object(query_parameters);
        }
        if !self.cookies.is_empty() {
            event["cookies"] = json!(self.cookies);
        }
        if !body.is_null() {
            event["body"] = body;
        }
        event
    }
}

/// A function's answer to an HTTP event, as API Gateway turns it into a response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    /// The cookies set (`Set-Cookie`), which payload 2.0 answers apart from the headers.
    pub cookies: Vec<String>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn from_lambda(answer: &Value) -> HttpResponse {
        let status = answer["statusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or_else(|| panic!("no statusCode in {answer}"));
        let headers = answer["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or("").to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let text = answer["body"].as_str().unwrap_or("");
        let body = if answer["isBase64Encoded"].as_bool() == Some(true) {
            BASE64
                .decode(text)
                .unwrap_or_else(|e| panic!("a base64 body that does not decode: {e}"))
        } else {
            text.as_bytes().to_vec()
        };
        let cookies = answer["cookies"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        HttpResponse {
            status,
            headers,
            cookies,
            body,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {}", self.status, self.text()))
    }
}

/// The event the SQS event source mapping sends for `messages` received from the queue
/// at `queue_arn`.
pub fn sqs_event(queue_arn: &str, messages: &[Message]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: Map<String, Value> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), Value::from(v.as_str())))
                        .collect()
                })
                .unwrap_or_default();
            let message_attributes: Map<String, Value> = m
                .message_attributes()
                .map(|a| {
                    a.iter()
                        .map(|(name, value)| {
                            let attribute = json!({
                                "stringValue": value.string_value(),
                                "stringListValues": [],
                                "binaryListValues": [],
                                "dataType": value.data_type(),
                            });
                            (name.clone(), attribute)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut record = json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body().unwrap_or_default(),
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": crate::cloud::REGION,
            });
            if let Some(md5) = m.md5_of_message_attributes() {
                record["md5OfMessageAttributes"] = md5.into();
            }
            record
        })
        .collect();
    json!({ "Records": records })
}

/// The event an EventBridge schedule (`rate(1 minute)`) sends.
pub fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": crate::cloud::REGION,
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/switchboard-SweeperEveryMinute"],
        "detail": {}
    })
}
