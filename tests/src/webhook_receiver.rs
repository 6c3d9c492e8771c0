//! An endpoint for outbound webhooks: it records every request (headers, body, when)
//! and answers as scripted (a status, maybe a `Retry-After`), then 200. Signatures are
//! checked with the Standard Webhooks reference library for Python, an implementation
//! independent of ours.

use crate::repo_root;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One request the endpoint got.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a webhook body is JSON")
    }

    pub fn kind(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    script: VecDeque<(u16, Option<u64>)>,
}

type Shared = Arc<Mutex<Inner>>;

/// The running endpoint; it stops when dropped.
pub struct WebhookReceiver {
    url: String,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        let state: Shared = Arc::default();
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the receiver runs");
        });
        WebhookReceiver { url, state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// The next requests get these answers (status, `Retry-After` seconds), in order.
    pub fn answer_next(&self, answers: &[(u16, Option<u64>)]) {
        self.state
            .lock()
            .expect("the receiver's state")
            .script
            .extend(answers.iter().copied());
    }

    pub fn received(&self) -> Vec<Received> {
        self.state
            .lock()
            .expect("the receiver's state")
            .received
            .clone()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut inner = state.lock().expect("the receiver's state");
    inner.received.push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: body.to_vec(),
        at: Instant::now(),
    });
    let (status, retry_after) = inner.script.pop_front().unwrap_or((200, None));
    let status = StatusCode::from_u16(status).expect("a status");
    match retry_after {
        Some(seconds) => {
            (status, [("retry-after", seconds.to_string())], "scripted").into_response()
        }
        None => (status, "scripted").into_response(),
    }
}

/// Checks each request's signature with `secret` using the `standardwebhooks` library
/// (in the project's virtualenv); panics naming the first that fails.
pub fn verify_signatures(secret: &str, received: &[Received]) {
    let requests: Vec<Value> = received
        .iter()
        .map(|r| {
            serde_json::json!({
                "headers": {
                    "webhook-id": r.id,
                    "webhook-timestamp": r.timestamp,
                    "webhook-signature": r.signature,
                },
                "body": String::from_utf8_lossy(&r.body),
            })
        })
        .collect();
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
secret, requests = sys.argv[1], json.load(sys.stdin)
hook = Webhook(secret)
for n, r in enumerate(requests):
    try:
        hook.verify(r["body"], r["headers"])
    except Exception as e:
        print(f"request {n} ({r['headers']['webhook-id']}): {e!r}")
        sys.exit(1)
print(f"verified {len(requests)}")
"#;
    let python = repo_root().join(".venv/bin/python");
    let mut child = std::process::Command::new(&python)
        .args(["-c", script, secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {} (scripts/install-tools): {e}", python.display()));
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&serde_json::to_vec(&requests).expect("JSON"))
        .expect("write the requests");
    let out = child.wait_with_output().expect("the check ends");
    assert!(
        out.status.success(),
        "a signature failed the Standard Webhooks check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
