//! Cold start, invocation durations and peak memory of each Lambda function: the real
//! binaries against the emulator, each fed what it gets in production (ten web-form posts,
//! a batch of ten inbound messages, ten replies, a batch of ten deliveries, the schedule,
//! ten signed Twilio SMS).
//! The hello-world `lambda_runtime` binary runs the same way, as the baseline.
//!
//! `scripts/measure-lambdas` builds everything with the functions' release profile and
//! runs this under the emulator. It prints figures; it asserts nothing about time.

use e2e::cloud::{Cloud, queue_arn};
use e2e::events::{API_HOST, HttpRequest, HttpResponse, scheduled_event, sqs_event};
use e2e::function::Function;
use e2e::stack::receive;
use serde_json::json;
use shared::channels::twilio;
use shared::model::Role;
use std::collections::BTreeMap;
use std::time::Duration;

/// One process's life: its start and what it did.
struct Sample {
    /// Process start → ready for its first event (init).
    init: Duration,
    /// Process start → its first event answered.
    first_answer: Duration,
    /// The first invocation's own duration.
    first_invocation: Duration,
    /// The later invocations' median.
    warm_invocation: Duration,
    peak_rss_kib: u64,
}

fn sample(function: &Function, init: Duration) -> Sample {
    let durations = function.durations();
    let cold = function
        .cold_start()
        .expect("the function answered an event");
    let mut warm = durations[1..].to_vec();
    warm.sort();
    Sample {
        init,
        first_answer: cold.to_first_answer,
        first_invocation: durations[0],
        warm_invocation: warm.get(warm.len() / 2).copied().unwrap_or_default(),
        peak_rss_kib: function.peak_rss_kib(),
    }
}

async fn http(function: &mut Function, request: HttpRequest) -> HttpResponse {
    HttpResponse::from_lambda(&function.invoke_ok(request.event()).await)
}

async fn hello() -> Sample {
    let mut hello = Function::start("hello", &[]).await;
    let init = hello.ready().await;
    for n in 0..10 {
        hello.invoke_ok(json!({ "n": n })).await;
    }
    sample(&hello, init)
}

/// Every function once, on a fresh table and queues.
async fn functions(samples: &mut BTreeMap<&'static str, Vec<Sample>>) {
    let cloud = Cloud::create().await;
    let mut env = cloud.function_env();
    env.push(("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE".into(), "0".into()));
    let key = cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    let sqs = cloud.clients.sqs();

    let mut webform = Function::start("webform", &env).await;
    let init = webform.ready().await;
    for i in 0..10 {
        let body = serde_urlencoded::to_string([
            ("name", "Sara".to_string()),
            ("email", format!("customer{i}@example.com")),
            ("message", format!("My payment {i} did not go through")),
        ])
        .expect("a form");
        let request = HttpRequest::new("POST", "/webhooks/webform")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body);
        assert_eq!(http(&mut webform, request).await.status, 202);
    }
    push(samples, "webform", sample(&webform, init));

    let mut router = Function::start("router", &env).await;
    let init = router.ready().await;
    let inbound = &cloud.settings.queues.inbound;
    let messages = receive(sqs, inbound).await;
    assert_eq!(messages.len(), 10, "the ten posts are queued");
    let event = sqs_event(&queue_arn(sqs, inbound).await, &messages);
    let answer = router.invoke_ok(event).await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    push(samples, "router", sample(&router, init));

    let mut api = Function::start("inbox-api", &env).await;
    let init = api.ready().await;
    let bearer = format!("Bearer {key}");
    let list = HttpRequest::new("GET", "/v1/conversations?status=all&limit=100")
        .header("authorization", bearer.as_str());
    let list = http(&mut api, list).await.json();
    let conversations = list["items"].as_array().expect("items").clone();
    assert_eq!(conversations.len(), 10);
    for conversation in &conversations {
        let id = conversation["id"].as_str().expect("an id");
        let reply = HttpRequest::new("POST", format!("/v1/conversations/{id}/replies"))
            .header("authorization", bearer.as_str())
            .json(&json!({ "text": "Thanks, we are on it" }));
        assert_eq!(http(&mut api, reply).await.status, 202);
    }
    push(samples, "inbox-api", sample(&api, init));

    let mut sender = Function::start("sender", &env).await;
    let init = sender.ready().await;
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
    let answer = sender.invoke_ok(event).await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    push(samples, "sender", sample(&sender, init));

    let mut sweeper = Function::start("sweeper", &env).await;
    let init = sweeper.ready().await;
    for _ in 0..3 {
        sweeper.invoke_ok(scheduled_event()).await;
    }
    push(samples, "sweeper", sample(&sweeper, init));

    // Last: its ten SMS go on the inbound queue, which the router above drained.
    let token = cloud.put_secret("twilio-auth-token", e2e::AUTH_TOKEN).await;
    let mut telephony_env = env.clone();
    telephony_env.push((
        "SWITCHBOARD_TWILIO_ACCOUNT_SID".into(),
        e2e::ACCOUNT_SID.into(),
    ));
    telephony_env.push(("SWITCHBOARD_TWILIO_AUTH_TOKEN_PARAMETER".into(), token));
    let mut telephony = Function::start("telephony", &telephony_env).await;
    let init = telephony.ready().await;
    let path = "/webhooks/twilio/sms";
    let url = format!("https://{API_HOST}{path}");
    for i in 0..10 {
        let params = e2e::sms_params(
            &e2e::new_sid("SM"),
            &format!("+1415555{:04}", 2600 + i),
            "My payment did not go through",
        );
        let signature = twilio::signature::sign(e2e::AUTH_TOKEN, &url, &params);
        let request = HttpRequest::new("POST", path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header(twilio::signature::HEADER, signature)
            .body(serde_urlencoded::to_string(&params).expect("a form"));
        assert_eq!(http(&mut telephony, request).await.status, 200);
    }
    push(samples, "telephony", sample(&telephony, init));
}

fn push(samples: &mut BTreeMap<&'static str, Vec<Sample>>, name: &'static str, s: Sample) {
    samples.entry(name).or_default().push(s);
}

fn median(mut values: Vec<Duration>) -> f64 {
    values.sort();
    let middle = values[values.len() / 2];
    (middle.as_secs_f64() * 10_000.0).round() / 10.0
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
    let baseline = median(samples["hello"].iter().map(|s| s.first_answer).collect());

    println!("medians of {runs} cold processes each, in ms; peak RSS is the largest seen");
    println!(
        "{:<10} {:>8} {:>13} {:>10} {:>10} {:>10} {:>10}",
        "function", "init", "first answer", "× hello", "first inv", "warm inv", "peak KiB"
    );
    for (name, list) in &samples {
        let field = |f: fn(&Sample) -> Duration| median(list.iter().map(f).collect());
        let first_answer = field(|s| s.first_answer);
        println!(
            "{:<10} {:>8.1} {:>13.1} {:>10.2} {:>10.1} {:>10.1} {:>10}",
            name,
            field(|s| s.init),
            first_answer,
            first_answer / baseline,
            field(|s| s.first_invocation),
            field(|s| s.warm_invocation),
            list.iter().map(|s| s.peak_rss_kib).max().unwrap_or(0),
        );
    }
}
