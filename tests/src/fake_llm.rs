//! An OpenAI-compatible chat completions API on loopback: it records each request (its
//! `Authorization` header and JSON body) and answers with a completion whose text it
//! writes from the request, as a model grounded in the articles would: it quotes the
//! first article's title from the system message. A scripted status answers instead.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// One request the model got.
#[derive(Clone, Debug)]
pub struct Asked {
    pub authorization: Option<String>,
    pub body: Value,
}

impl Asked {
    /// The chat's messages as (role, content).
    pub fn messages(&self) -> Vec<(String, String)> {
        self.body["messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| {
                        (
                            m["role"].as_str().unwrap_or_default().to_owned(),
                            m["content"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Inner {
    asked: Vec<Asked>,
    /// Answer the next request with this status and no completion.
    fail_next: Option<u16>,
}

type Shared = Arc<Mutex<Inner>>;

/// The running fake; it stops when dropped.
pub struct FakeLlm {
    url: String,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl FakeLlm {
    pub async fn start() -> FakeLlm {
        let state: Shared = Arc::default();
        let app = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(complete))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake model");
        let url = format!("http://{}/v1", listener.local_addr().expect("an address"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the fake model runs");
        });
        FakeLlm { url, state, task }
    }

    /// Its base URL, up to the version (`SWITCHBOARD_LLM_URL`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn asked(&self) -> Vec<Asked> {
        self.state.lock().expect("the fake's state").asked.clone()
    }

    /// The next request is answered `status` with an error body.
    pub fn fail_next(&self, status: u16) {
        self.state.lock().expect("the fake's state").fail_next = Some(status);
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn complete(
    State(state): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let asked = Asked {
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
    };
    let system = asked
        .messages()
        .into_iter()
        .find(|(role, _)| role == "system")
        .map(|(_, content)| content)
        .unwrap_or_default();
    let fail = {
        let mut inner = state.lock().expect("the fake's state");
        inner.asked.push(asked.clone());
        inner.fail_next.take()
    };
    if let Some(status) = fail {
        let status = StatusCode::from_u16(status).expect("a status");
        return (
            status,
            Json(json!({"error": {"message": "overloaded", "type": "server_error"}})),
        )
            .into_response();
    }
    // "[1] <title>" opens the first article.
    let title = system
        .lines()
        .find_map(|l| l.strip_prefix("[1] "))
        .unwrap_or("no article");
    Json(json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_733_400_000,
        "model": asked.body["model"],
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": format!("Drafted from \u{201c}{title}\u{201d}: <script>alert(1)</script>")},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    }))
    .into_response()
}
