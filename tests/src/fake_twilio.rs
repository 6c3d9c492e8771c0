//! A stand-in for the Twilio REST API: it records every message created, answers the
//! way the real one does (201 with a `sid`), serves MMS media behind basic auth, and can
//! be told to fail the next calls (an error code, a 429, a 500).

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// One message the fake was asked to send: its form fields.
#[derive(Clone, Debug)]
pub struct SentSms {
    pub sid: String,
    pub fields: HashMap<String, String>,
}

impl SentSms {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

#[derive(Default)]
struct Fake {
    account_sid: String,
    auth_token: String,
    sent: Vec<SentSms>,
    scripted: VecDeque<(u16, Value)>,
    media: HashMap<String, (String, Vec<u8>)>,
    media_requests: Vec<String>,
    next: u64,
}

type Shared = Arc<Mutex<Fake>>;

/// The running fake; it stops when dropped.
pub struct FakeTwilio {
    url: String,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl FakeTwilio {
    /// Starts the fake on a free port, accepting only this account's credentials.
    pub async fn start(account_sid: &str, auth_token: &str) -> FakeTwilio {
        let state: Shared = Arc::new(Mutex::new(Fake {
            account_sid: account_sid.to_string(),
            auth_token: auth_token.to_string(),
            ..Fake::default()
        }));
        let app = axum::Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                post(create_message),
            )
            .route("/media/{name}", get(media))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the fake binds a port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTwilio { url, state, task }
    }

    /// The base URL to configure as `SWITCHBOARD_TWILIO_API_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn with<T>(&self, f: impl FnOnce(&mut Fake) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Every message created, oldest first.
    pub fn sent(&self) -> Vec<SentSms> {
        self.with(|f| f.sent.clone())
    }

    /// The next message creation fails with this status and Twilio error code.
    pub fn fail_next(&self, status: u16, code: u32, message: &str) {
        let body = json!({
            "code": code, "message": message, "status": status,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        });
        self.with(|f| f.scripted.push_back((status, body)));
    }

    /// Media served at `{url}/media/{name}` (to the account's credentials only).
    pub fn add_media(&self, name: &str, content_type: &str, bytes: Vec<u8>) -> String {
        self.with(|f| {
            f.media
                .insert(name.to_string(), (content_type.to_string(), bytes))
        });
        format!("{}/media/{name}", self.url)
    }

    /// The media names requested so far.
    pub fn media_requests(&self) -> Vec<String> {
        self.with(|f| f.media_requests.clone())
    }
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn authorized(fake: &Fake, request: &Request) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", fake.account_sid, fake.auth_token))
    );
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str())
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({ "code": 20003, "message": "Authenticate", "status": 401 })),
    )
        .into_response()
}

async fn create_message(
    State(state): State<Shared>,
    Path(account): Path<String>,
    request: Request,
) -> Response {
    let ok = {
        let fake = state.lock().unwrap_or_else(|p| p.into_inner());
        authorized(&fake, &request) && account == fake.account_sid
    };
    if !ok {
        return unauthorized();
    }
    let bytes = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let fields: HashMap<String, String> =
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .unwrap_or_default()
            .into_iter()
            .collect();
    let mut fake = state.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((status, body)) = fake.scripted.pop_front() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, axum::Json(body)).into_response();
    }
    fake.next += 1;
    let sid = format!("SM{:032x}", 0xfeed_0000_u64 + fake.next);
    fake.sent.push(SentSms {
        sid: sid.clone(),
        fields: fields.clone(),
    });
    let body = json!({
        "sid": sid, "account_sid": account, "status": "queued",
        "to": fields.get("To"), "from": fields.get("From"), "body": fields.get("Body"),
        "messaging_service_sid": fields.get("MessagingServiceSid"),
        "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
    });
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

async fn media(
    State(state): State<Shared>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let mut fake = state.lock().unwrap_or_else(|p| p.into_inner());
    if !authorized(&fake, &request) {
        return unauthorized();
    }
    fake.media_requests.push(name.clone());
    match fake.media.get(&name) {
        Some((content_type, bytes)) => (
            [(header::CONTENT_TYPE, content_type.clone())],
            bytes.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
