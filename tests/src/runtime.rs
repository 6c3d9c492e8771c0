//! A Lambda Runtime API of our own, for one function process: what Lambda's sandbox
//! serves at `AWS_LAMBDA_RUNTIME_API`. The process long-polls `next` for an event and
//! posts its answer (or error) for that event's request id; init failures go to
//! `init/error`.
//!
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>

use crate::lock;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

/// What the function answered for one event.
#[derive(Debug)]
pub enum Outcome {
    /// `POST /runtime/invocation/{id}/response`.
    Response(Bytes),
    /// `POST /runtime/invocation/{id}/error`: the error type header and the JSON body.
    Error { error_type: String, body: Value },
}

/// One event waiting for the function.
struct Event {
    request_id: String,
    payload: Value,
    deadline: Duration,
}

/// When the process reached each point, for the cold-start figures, and the CPU time it
/// had used by then (when the process is [watched](RuntimeApi::watch_cpu)).
#[derive(Clone, Copy, Debug, Default)]
pub struct Milestones {
    /// The first `GET next`: the function's init is over.
    pub first_next: Option<Instant>,
    pub init_cpu: Option<Duration>,
    /// The first answer (response or error) to an event.
    pub first_answer: Option<Instant>,
    pub first_answer_cpu: Option<Duration>,
}

/// When an event was handed out, and the process's CPU time then.
struct HandedOut {
    at: Instant,
    cpu: Option<Duration>,
}

struct Shared {
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Event>>,
    answers: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// When each event in hand was handed out, and how long each answered one took, in
    /// time and in the process's CPU time.
    handed_out: Mutex<HashMap<String, HandedOut>>,
    durations: Mutex<Vec<Duration>>,
    cpu_durations: Mutex<Vec<Duration>>,
    /// The process whose CPU time is read at each milestone.
    pid: OnceLock<u32>,
    init_error: Mutex<Option<(String, Value)>>,
    milestones: Mutex<Milestones>,
}

/// The Runtime API on a loopback port, serving one function process.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    queue: mpsc::UnboundedSender<Event>,
    server: tokio::task::JoinHandle<()>,
}

const PREFIX: &str = "/2018-06-01/runtime";

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let (queue, events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: tokio::sync::Mutex::new(events),
            answers: Mutex::new(HashMap::new()),
            handed_out: Mutex::new(HashMap::new()),
            durations: Mutex::new(Vec::new()),
            cpu_durations: Mutex::new(Vec::new()),
            pid: OnceLock::new(),
            init_error: Mutex::new(None),
            milestones: Mutex::new(Milestones::default()),
        });
        let app = Router::new()
            .route(&format!("{PREFIX}/invocation/next"), get(next))
            .route(
                &format!("{PREFIX}/invocation/{{id}}/response"),
                post(response),
            )
            .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(error))
            .route(&format!("{PREFIX}/init/error"), post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the Runtime API");
        let addr = listener.local_addr().expect("the bound address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RuntimeApi {
            addr,
            shared,
            queue,
            server,
        }
    }

    /// `host:port`, as `AWS_LAMBDA_RUNTIME_API` wants it.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues an event; the answer arrives on the receiver once the function posts it.
    /// Also gives the event's request id (see [`RuntimeApi::handed_out_at`]).
    pub fn invoke(
        &self,
        payload: Value,
        deadline: Duration,
    ) -> (String, oneshot::Receiver<Outcome>) {
        let request_id = ulid_like();
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.answers).insert(request_id.clone(), tx);
        let _ = self.queue.send(Event {
            request_id: request_id.clone(),
            payload,
            deadline,
        });
        (request_id, rx)
    }

    /// When the function took event `request_id` from `next`, while it has not answered
    /// it: the invocation's timeout counts from then, as on Lambda (init has its own).
    pub fn handed_out_at(&self, request_id: &str) -> Option<Instant> {
        lock(&self.shared.handed_out)
            .get(request_id)
            .map(|handed_out| handed_out.at)
    }

    /// What the function reported through `init/error`, if it did.
    pub fn init_error(&self) -> Option<(String, Value)> {
        lock(&self.shared.init_error).clone()
    }

    /// Reads process `pid`'s CPU time at each milestone and around each invocation. Each
    /// reading is taken when the process has just sent a request (`next`, an answer) and
    /// waits for its answer, so little of its work can be missed.
    pub fn watch_cpu(&self, pid: u32) {
        let _ = self.shared.pid.set(pid);
    }

    pub fn milestones(&self) -> Milestones {
        *lock(&self.shared.milestones)
    }

    /// How long each answered event took, from `next` handing it out to its answer: the
    /// invocation's own duration, as Lambda bills it.
    pub fn durations(&self) -> Vec<Duration> {
        lock(&self.shared.durations).clone()
    }

    /// The process's CPU time in each answered event, from `next` handing it out to its
    /// answer (empty unless the process is [watched](RuntimeApi::watch_cpu)).
    pub fn cpu_durations(&self) -> Vec<Duration> {
        lock(&self.shared.cpu_durations).clone()
    }
}

impl Shared {
    fn cpu(&self) -> Option<Duration> {
        crate::cpu::process_cpu_time(*self.pid.get()?)
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A request id as unique as Lambda's (a UUID there; any unique string works).
fn ulid_like() -> String {
    crate::unique("req")
}

fn epoch_millis(after: Duration) -> u128 {
    (SystemTime::now() + after)
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    {
        let mut milestones = lock(&shared.milestones);
        if milestones.first_next.is_none() {
            milestones.first_next = Some(Instant::now());
            milestones.init_cpu = shared.cpu();
        }
    }
    let event = shared.events.lock().await.recv().await;
    let Some(event) = event else {
        return StatusCode::GONE.into_response();
    };
    let handed_out = HandedOut {
        at: Instant::now(),
        cpu: shared.cpu(),
    };
    lock(&shared.handed_out).insert(event.request_id.clone(), handed_out);
    let headers = [
        ("lambda-runtime-aws-request-id", event.request_id.clone()),
        (
            "lambda-runtime-deadline-ms",
            epoch_millis(event.deadline).to_string(),
        ),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:switchboard-e2e".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1".to_owned(),
        ),
        ("content-type", "application/json".to_owned()),
    ];
    let mut response = event.payload.to_string().into_response();
    for (name, value) in headers {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn answer(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    let now = Instant::now();
    let cpu = shared.cpu();
    {
        let mut milestones = lock(&shared.milestones);
        if milestones.first_answer.is_none() {
            milestones.first_answer = Some(now);
            milestones.first_answer_cpu = cpu;
        }
    }
    if let Some(handed_out) = lock(&shared.handed_out).remove(id) {
        lock(&shared.durations).push(now.duration_since(handed_out.at));
        if let (Some(from), Some(to)) = (handed_out.cpu, cpu) {
            lock(&shared.cpu_durations).push(to.saturating_sub(from));
        }
    }
    match lock(&shared.answers).remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(&shared, &id, Outcome::Response(body))
}

fn error_of(headers: &HeaderMap, body: &Bytes) -> (String, Value) {
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = serde_json::from_slice(body).unwrap_or(Value::Null);
    (error_type, body)
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let (error_type, body) = error_of(&headers, &body);
    answer(&shared, &id, Outcome::Error { error_type, body })
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    *lock(&shared.init_error) = Some(error_of(&headers, &body));
    StatusCode::ACCEPTED
}
