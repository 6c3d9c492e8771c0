//! Cold start, invocation durations and peak memory of each Lambda function: the real
//! binaries against the emulator, each fed what it gets in production (ten web-form posts,
//! a batch of ten inbound messages, ten replies, a batch of ten deliveries, the schedule,
//! ten signed Twilio SMS).
//! The hello-world `lambda_runtime` binary runs the same way, as the baseline.
//! Each function reaches the emulator through an [`EmulatorTap`], so its own part of the
//! cold start (process start → first answer, less the time it waited for the emulator)
//! can be set beside the baseline, which makes no call. The Runtime API also reads each
//! process's CPU time at init's end, at the first answer and around every invocation:
//! the cost that does not depend on the emulator's speed nor on this machine's other work.
//!
//! `scripts/measure-lambdas` builds everything with the functions' release profile and
//! runs this under the emulator. It prints figures; it asserts nothing about time.

use e2e::cloud::{Cloud, queue_arn};
use e2e::emulator_tap::EmulatorTap;
use e2e::events::{API_HOST, HttpRequest, HttpResponse, scheduled_event, sqs_event};
use e2e::function::Function;
use e2e::stack::receive;
use serde_json::{Value, json};
use shared::channels::twilio;
use shared::model::Role;
use std::collections::BTreeMap;
use std::time::Duration;

/// One process's life: its start and what it did.
struct Sample {
    /// Process start → ready for its first event (init).
    init: Duration,
    /// Of which the process waited for the emulator's answers.
    init_waiting: Duration,
    /// Process start → its first event answered (the event was waiting from the start).
    first_answer: Duration,
    /// Of which the process waited for the emulator's answers.
    first_answer_waiting: Duration,
    /// The CPU time the process used for its init, and to its first answer.
    init_cpu: Duration,
    first_answer_cpu: Duration,
    /// The first invocation's own duration, and its CPU time.
    first_invocation: Duration,
    first_invocation_cpu: Duration,
    /// The later invocations' median, and the median of their CPU time.
    warm_invocation: Duration,
    warm_invocation_cpu: Duration,
    peak_rss_kib: u64,
}

impl Sample {
    /// Process start → first answer, less the time spent waiting for the emulator.
    fn own_first_answer(&self) -> Duration {
        self.first_answer.saturating_sub(self.first_answer_waiting)
    }
}

/// A process started as Lambda starts one for an event: the event is waiting before the
/// process is, and the function reaches the emulator through its own [`EmulatorTap`].
struct Cold {
    function: Function,
    tap: EmulatorTap,
}

impl Cold {
    async fn start(name: &str, env: &[(String, String)], first_event: Value) -> (Cold, Value) {
        let tap = EmulatorTap::start(&e2e::cloud::endpoint()).await;
        let mut env = env.to_vec();
        env.push(("AWS_ENDPOINT_URL".into(), tap.url()));
        let mut function = Function::start(name, &env).await;
        let answer = function.invoke_ok(first_event).await;
        (Cold { function, tap }, answer)
    }

    fn sample(&self) -> Sample {
        let function = &self.function;
        let durations = function.durations();
        let cpu = function.cpu_durations();
        let cold = function
            .cold_start()
            .expect("the function answered an event");
        let start = function.started_at();
        Sample {
            init: cold.init,
            init_waiting: self.tap.waiting_between(start, start + cold.init),
            first_answer: cold.to_first_answer,
            first_answer_waiting: self
                .tap
                .waiting_between(start, start + cold.to_first_answer),
            init_cpu: cold.init_cpu,
            first_answer_cpu: cold.first_answer_cpu,
            first_invocation: durations[0],
            first_invocation_cpu: cpu[0],
            warm_invocation: middle(&durations[1..]),
            warm_invocation_cpu: middle(&cpu[1..]),
            peak_rss_kib: function.peak_rss_kib(),
        }
    }
}

async fn http(function: &mut Function, request: HttpRequest) -> HttpResponse {
    HttpResponse::from_lambda(&function.invoke_ok(request.event()).await)
}

async fn hello() -> Sample {
    let (mut hello, _) = Cold::start("hello", &[], json!({ "n": 0 })).await;
    for n in 1..10 {
        hello.function.invoke_ok(json!({ "n": n })).await;
    }
    hello.sample()
}

fn form_post(i: usize) -> HttpRequest {
    HttpRequest::new("POST", "/webhooks/webform")
        .header("accept", "application/json")
        .form(&[
            ("name", "Sara".to_string()),
            ("email", format!("customer{i}@example.com")),
            ("message", format!("My payment {i} did not go through")),
        ])
}

fn signed_sms(i: usize) -> HttpRequest {
    let path = "/webhooks/twilio/sms";
    let url = format!("https://{API_HOST}{path}");
    let params = e2e::sms_params(
        &e2e::new_sid("SM"),
        &format!("+1415555{:04}", 2600 + i),
        "My payment did not go through",
    );
    let signature = twilio::signature::sign(e2e::AUTH_TOKEN, &url, &params);
    HttpRequest::new("POST", path)
        .header(twilio::signature::HEADER, signature)
        .form(&params)
}

/// Every function once, on a fresh table and queues.
async fn functions(samples: &mut BTreeMap<&'static str, Vec<Sample>>) {
    let cloud = Cloud::create().await;
    let mut env = cloud.function_env();
    env.push(("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE".into(), "0".into()));
    let key = cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    let sqs = &cloud.sqs;

    let (mut webform, answer) = Cold::start("webform", &env, form_post(0).event()).await;
    assert_eq!(HttpResponse::from_lambda(&answer).status, 202);
    for i in 1..10 {
        assert_eq!(http(&mut webform.function, form_post(i)).await.status, 202);
    }
    push(samples, "webform", webform.sample());

    let inbound = &cloud.settings.queues.inbound;
    let messages = receive(sqs, inbound).await;
    assert_eq!(messages.len(), 10, "the ten posts are queued");
    let event = sqs_event(&queue_arn(sqs, inbound).await, &messages);
    let (router, answer) = Cold::start("router", &env, event).await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    push(samples, "router", router.sample());

    let bearer = format!("Bearer {key}");
    let list = HttpRequest::new("GET", "/v1/conversations?status=all&limit=100")
        .header("authorization", bearer.as_str());
    let (mut api, list) = Cold::start("inbox-api", &env, list.event()).await;
    let list = HttpResponse::from_lambda(&list).json();
    let conversations = list["items"].as_array().expect("items").clone();
    assert_eq!(conversations.len(), 10);
    for conversation in &conversations {
        let id = conversation["id"].as_str().expect("an id");
        let reply = HttpRequest::new("POST", format!("/v1/conversations/{id}/replies"))
            .header("authorization", bearer.as_str())
            .json(&json!({ "text": "Thanks, we are on it" }));
        assert_eq!(http(&mut api.function, reply).await.status, 202);
    }
    push(samples, "inbox-api", api.sample());

    let outbound = &cloud.settings.queues.outbound;
    let mut messages = Vec::new();
    for _ in 0..5 {
        messages.extend(receive(sqs, outbound).await);
        if messages.len() >= 10 {
            break;
        }
    }
    assert_eq!(messages.len(), 10, "the ten replies are queued");
    let event = sqs_event(&queue_arn(sqs, outbound).await, &messages);
    let (sender, answer) = Cold::start("sender", &env, event).await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    push(samples, "sender", sender.sample());

    let (mut sweeper, _) = Cold::start("sweeper", &env, scheduled_event()).await;
    for _ in 0..2 {
        sweeper.function.invoke_ok(scheduled_event()).await;
    }
    push(samples, "sweeper", sweeper.sample());

    // Last: its ten SMS go on the inbound queue, which the router above drained.
    let token = cloud.put_secret("twilio-auth-token", e2e::AUTH_TOKEN).await;
    let mut telephony_env = env.clone();
    telephony_env.push((
        "SWITCHBOARD_TWILIO_ACCOUNT_SID".into(),
        e2e::ACCOUNT_SID.into(),
    ));
    telephony_env.push(("SWITCHBOARD_TWILIO_AUTH_TOKEN_PARAMETER".into(), token));
    let (mut telephony, answer) =
        Cold::start("telephony", &telephony_env, signed_sms(0).event()).await;
    assert_eq!(HttpResponse::from_lambda(&answer).status, 200);
    for i in 1..10 {
        assert_eq!(
            http(&mut telephony.function, signed_sms(i)).await.status,
            200
        );
    }
    push(samples, "telephony", telephony.sample());
}

fn push(samples: &mut BTreeMap<&'static str, Vec<Sample>>, name: &'static str, s: Sample) {
    samples.entry(name).or_default().push(s);
}

/// The median of later invocations; zero when there was only one (a queue consumer's).
fn middle(values: &[Duration]) -> Duration {
    let mut values = values.to_vec();
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn median(mut values: Vec<Duration>) -> f64 {
    values.sort();
    let middle = values[values.len() / 2];
    middle.as_secs_f64() * 1_000.0
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::var("MEASURE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut samples = BTreeMap::new();
    for _ in 0..runs {
        push(&mut samples, "hello", hello().await);
        functions(&mut samples).await;
    }
    let hello = &samples["hello"];
    let baseline = median(hello.iter().map(|s| s.first_answer).collect());
    let baseline_cpu = median(hello.iter().map(|s| s.first_answer_cpu).collect());

    println!("medians of {runs} cold processes each, in ms; peak RSS is the largest seen");
    println!();
    println!("time: \"waiting\" is how much of the time before the process waited for the");
    println!("emulator; \"own\" is the first answer less that waiting");
    println!(
        "{:<10} {:>7} {:>8} {:>7} {:>8} {:>7} {:>7} {:>7} {:>7} {:>9}",
        "function",
        "init",
        "waiting",
        "first",
        "waiting",
        "own",
        "× hello",
        "1st inv",
        "warm",
        "peak KiB"
    );
    for (name, list) in &samples {
        let field = |f: fn(&Sample) -> Duration| median(list.iter().map(f).collect());
        let own = field(Sample::own_first_answer);
        println!(
            "{:<10} {:>7.1} {:>8.1} {:>7.1} {:>8.1} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>9}",
            name,
            field(|s| s.init),
            field(|s| s.init_waiting),
            field(|s| s.first_answer),
            field(|s| s.first_answer_waiting),
            own,
            own / baseline,
            field(|s| s.first_invocation),
            field(|s| s.warm_invocation),
            list.iter().map(|s| s.peak_rss_kib).max().unwrap_or(0),
        );
    }
    println!();
    println!("CPU time: what sets a cold start's length on a Lambda of 128 MB, which has a");
    println!("small share of one vCPU");
    println!(
        "{:<10} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "function", "init", "first", "× hello", "1st inv", "warm"
    );
    for (name, list) in &samples {
        let field = |f: fn(&Sample) -> Duration| median(list.iter().map(f).collect());
        let first = field(|s| s.first_answer_cpu);
        println!(
            "{:<10} {:>7.2} {:>7.2} {:>7.1} {:>7.2} {:>7.2}",
            name,
            field(|s| s.init_cpu),
            first,
            first / baseline_cpu,
            field(|s| s.first_invocation_cpu),
            field(|s| s.warm_invocation_cpu),
        );
    }
}
