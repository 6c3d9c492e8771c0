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
    /// How long every answer takes.
    delay: std::time::Duration,
    /// The body of every answer (default `scripted`).
    body: Option<String>,
}

type Shared = Arc<Mutex<Inner>>;

/// The running endpoint; it stops when dropped.
pub struct WebhookReceiver {
    url: String,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    /// Plain HTTP on loopback.
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

    /// HTTPS on loopback, with the certificate of `tests/fixtures/tls` (a client trusts
    /// it through [`TEST_CA`]).
    pub async fn start_tls() -> WebhookReceiver {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let dir = repo_root().join("tests/fixtures/tls");
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(dir.join("receiver.pem"))
                .expect("the receiver's certificate")
                .collect::<Result<_, _>>()
                .expect("a PEM certificate");
        let key = PrivateKeyDer::from_pem_file(dir.join("receiver.key")).expect("its key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("a server certificate");
        let listener = TlsListener {
            tcp: tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind the receiver"),
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        };
        let state: Shared = Arc::default();
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone());
        let url = format!("https://{}", listener.tcp.local_addr().expect("an address"));
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

    /// Every answer from now on comes after `delay`.
    pub fn answer_after(&self, delay: std::time::Duration) {
        self.state.lock().expect("the receiver's state").delay = delay;
    }

    /// Every answer from now on has this body.
    pub fn answer_with(&self, body: String) {
        self.state.lock().expect("the receiver's state").body = Some(body);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state
            .lock()
            .expect("the receiver's state")
            .received
            .clone()
    }
}

/// The authority that signed the HTTPS receiver's certificate: a client's `SSL_CERT_FILE`.
pub fn test_ca() -> std::path::PathBuf {
    repo_root().join("tests/fixtures/tls/ca.pem")
}

/// TCP connections, each through a TLS handshake; a failed handshake is dropped.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
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
    let (status, retry_after, delay, answer) = {
        let mut inner = state.lock().expect("the receiver's state");
        inner.received.push(Received {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body: body.to_vec(),
            at: Instant::now(),
        });
        let (status, retry_after) = inner.script.pop_front().unwrap_or((200, None));
        let answer = inner.body.clone().unwrap_or_else(|| "scripted".into());
        (status, retry_after, inner.delay, answer)
    };
    tokio::time::sleep(delay).await;
    let status = StatusCode::from_u16(status).expect("a status");
    match retry_after {
        Some(seconds) => (status, [("retry-after", seconds.to_string())], answer).into_response(),
        None => (status, answer).into_response(),
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
