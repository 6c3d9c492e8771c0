//! A stand-in for the Telegram Bot API: it records every call, answers the way the real
//! one does, and can be told to fail the next calls of a method (429 with
//! `retry_after`, 403, 500, …).

use axum::Json;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One call the fake received. A `multipart/form-data` call has its text fields in
/// `body` (`chat_id` as a number, `reply_parameters` as JSON) and its files in `files`.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub body: Value,
    pub files: Vec<Upload>,
    pub at: Instant,
}

/// A file uploaded in a call (`sendPhoto`, `sendDocument`).
#[derive(Clone, Debug)]
pub struct Upload {
    /// The form field: `photo`, `document`.
    pub field: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
struct Fake {
    token: String,
    calls: Vec<Call>,
    scripted: HashMap<String, VecDeque<(u16, Value)>>,
    files: HashMap<String, (String, Vec<u8>)>,
    downloads: Vec<String>,
    webhook_url: String,
    next_message_id: i64,
    /// Calls are recorded (the message has reached Telegram) but not answered.
    holding: bool,
}

type Shared = Arc<Mutex<Fake>>;

/// The running fake; it stops when dropped.
pub struct FakeTelegram {
    url: String,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl FakeTelegram {
    /// Starts the fake on a free port, accepting only `token`.
    pub async fn start(token: &str) -> FakeTelegram {
        let state: Shared = Arc::new(Mutex::new(Fake {
            token: token.to_string(),
            next_message_id: 1000,
            ..Fake::default()
        }));
        let app = axum::Router::new()
            .route("/{bot}/{method}", post(method))
            .route("/file/{bot}/{*path}", get(file))
            .layer(DefaultBodyLimit::disable())
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the fake binds a port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTelegram { url, state, task }
    }

    /// The base URL to configure as `SWITCHBOARD_TELEGRAM_API_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn with<T>(&self, f: impl FnOnce(&mut Fake) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Every call of `method`, oldest first.
    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.with(|f| {
            f.calls
                .iter()
                .filter(|c| c.method == method)
                .cloned()
                .collect()
        })
    }

    /// The next call of `method` fails with this Bot API error.
    pub fn fail_next(&self, method: &str, code: u16, description: &str, retry_after: Option<u64>) {
        let mut body = json!({ "ok": false, "error_code": code, "description": description });
        if let Some(seconds) = retry_after {
            body["parameters"] = json!({ "retry_after": seconds });
        }
        self.with(|f| {
            f.scripted
                .entry(method.to_string())
                .or_default()
                .push_back((code, body))
        });
    }

    /// From now on, each call is recorded as received and then left unanswered until
    /// [`release`](Self::release): a sender caught mid-send.
    pub fn hold(&self) {
        self.with(|f| f.holding = true);
    }

    /// Answers the calls held, and every call from now on.
    pub fn release(&self) {
        self.with(|f| f.holding = false);
    }

    /// A file `getFile` will know by `file_id`, served at `file_path`.
    pub fn add_file(&self, file_id: &str, file_path: &str, bytes: Vec<u8>) {
        self.with(|f| {
            f.files
                .insert(file_id.to_string(), (file_path.to_string(), bytes))
        });
    }

    /// The file paths downloaded so far.
    pub fn downloads(&self) -> Vec<String> {
        self.with(|f| f.downloads.clone())
    }
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(body)).into_response()
}

fn unauthorized() -> Response {
    answer(
        401,
        json!({ "ok": false, "error_code": 401, "description": "Unauthorized" }),
    )
}

/// The body of a call: JSON, or a form with files, as the Bot API takes both.
async fn read_body(request: Request) -> (Value, Vec<Upload>) {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_form {
        let bytes = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        return (
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            Vec::new(),
        );
    }
    let mut fields = serde_json::Map::new();
    let mut files = Vec::new();
    let Ok(mut form) = Multipart::from_request(request, &()).await else {
        return (Value::Null, files);
    };
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(str::to_string);
        let Ok(bytes) = field.bytes().await else {
            break;
        };
        if file_name.is_some() {
            fields.insert(name.clone(), json!(format!("<file {}>", files.len())));
            files.push(Upload {
                field: name,
                file_name,
                content_type,
                bytes: bytes.to_vec(),
            });
            continue;
        }
        let text = String::from_utf8_lossy(&bytes).to_string();
        let value = match name.as_str() {
            "chat_id" => text.parse::<i64>().map(Value::from).unwrap_or(json!(text)),
            "reply_parameters" => serde_json::from_str(&text).unwrap_or(json!(text)),
            _ => json!(text),
        };
        fields.insert(name, value);
    }
    (Value::Object(fields), files)
}

async fn method(
    State(state): State<Shared>,
    Path((bot, method)): Path<(String, String)>,
    request: Request,
) -> Response {
    let (body, files) = read_body(request).await;
    let lock = || state.lock().unwrap_or_else(|p| p.into_inner());
    let holding = {
        let mut fake = lock();
        if bot != format!("bot{}", fake.token) {
            return unauthorized();
        }
        fake.calls.push(Call {
            method: method.clone(),
            body: body.clone(),
            files,
            at: Instant::now(),
        });
        fake.holding
    };
    if holding {
        while lock().holding {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    let mut fake = lock();
    if let Some((status, scripted)) = fake.scripted.get_mut(&method).and_then(VecDeque::pop_front) {
        return answer(status, scripted);
    }
    match method.as_str() {
        "sendMessage" => {
            fake.next_message_id += 1;
            let result = json!({
                "message_id": fake.next_message_id,
                "chat": { "id": body["chat_id"], "type": "private" },
                "date": 1_735_732_800,
                "text": body["text"],
            });
            answer(200, json!({ "ok": true, "result": result }))
        }
        "sendPhoto" | "sendDocument" => {
            fake.next_message_id += 1;
            let result = json!({
                "message_id": fake.next_message_id,
                "chat": { "id": body["chat_id"], "type": "private" },
                "date": 1_735_732_800,
                "caption": body["caption"],
            });
            answer(200, json!({ "ok": true, "result": result }))
        }
        "getFile" => match body["file_id"].as_str().and_then(|id| fake.files.get(id)) {
            Some((path, bytes)) => answer(
                200,
                json!({ "ok": true, "result": {
                    "file_id": body["file_id"], "file_unique_id": "u",
                    "file_size": bytes.len(), "file_path": path,
                }}),
            ),
            None => answer(
                400,
                json!({ "ok": false, "error_code": 400, "description": "Bad Request: invalid file_id" }),
            ),
        },
        "answerCallbackQuery" => answer(200, json!({ "ok": true, "result": true })),
        "setWebhook" => {
            fake.webhook_url = body["url"].as_str().unwrap_or_default().to_string();
            answer(
                200,
                json!({ "ok": true, "result": true, "description": "Webhook was set" }),
            )
        }
        "getWebhookInfo" => answer(
            200,
            json!({ "ok": true, "result": {
                "url": fake.webhook_url, "has_custom_certificate": false,
                "pending_update_count": 3, "last_error_date": 1_735_732_800,
                "last_error_message": "Wrong response from the webhook: 502 Bad Gateway",
                "max_connections": 40, "allowed_updates": ["message", "edited_message", "my_chat_member"],
            }}),
        ),
        _ => answer(
            404,
            json!({ "ok": false, "error_code": 404, "description": "Not Found: method not found" }),
        ),
    }
}

async fn file(State(state): State<Shared>, Path((bot, path)): Path<(String, String)>) -> Response {
    let mut fake = state.lock().unwrap_or_else(|p| p.into_inner());
    if bot != format!("bot{}", fake.token) {
        return unauthorized();
    }
    fake.downloads.push(path.clone());
    let found = fake
        .files
        .values()
        .find(|(p, _)| *p == path)
        .map(|(_, bytes)| bytes.clone());
    match found {
        Some(bytes) => (StatusCode::OK, bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
