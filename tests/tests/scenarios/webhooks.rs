//! Outbound webhooks on the real binary: a local endpoint subscribes, gets every event
//! of a conversation once, signed (checked with the Standard Webhooks library), in
//! order; failures are tried again with the same id; a final refusal fails only that
//! delivery; replays send again; internal addresses are refused.

use e2e::{
    ADMIN, AGENT, App, DEADLINE, Received, WebhookReceiver, eventually, problem_of,
    status_and_json, unique, verify_signatures,
};
use serde_json::{Value, json};
use std::time::Duration;

/// No rate limit, and tries one second apart so a test sees several.
const ENV: &[(&str, &str)] = &[
    ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0"),
    ("SWITCHBOARD_WEBHOOK_RETRY_SECONDS", "1,1,1,1,1"),
];

/// Subscribes `url` for `types`; returns the webhook's id and secret.
async fn subscribe(app: &App, key: &str, url: &str, types: &[&str]) -> (String, String) {
    let (status, created, text) = status_and_json(
        app.post_json(key, "/v1/webhooks", &json!({ "url": url, "types": types }))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let secret = created["secret"].as_str().expect("a secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{text}");
    assert!(
        created["webhook"].get("secret").is_none(),
        "the subscription never shows its secret again: {text}"
    );
    let id = created["webhook"]["id"].as_str().expect("an id").to_owned();
    (id, secret)
}

/// Waits until the endpoint got `n` requests; returns them.
async fn received(receiver: &WebhookReceiver, n: usize) -> Vec<Received> {
    eventually(&format!("{n} webhook requests"), DEADLINE, async || {
        let got = receiver.received();
        (got.len() >= n).then_some(got)
    })
    .await
}

/// Waits until a request of `kind` came; returns every request so far.
async fn received_until(receiver: &WebhookReceiver, kind: &str) -> Vec<Received> {
    eventually(&format!("a {kind} webhook"), DEADLINE, async || {
        let got = receiver.received();
        got.iter().any(|r| r.kind() == kind).then_some(got)
    })
    .await
}

async fn deliveries(app: &App, key: &str, webhook: &str) -> Vec<Value> {
    app.list_all(key, &format!("/v1/webhooks/{webhook}/deliveries"))
        .await
}

/// The one conversation there is, once the router made it.
async fn only_conversation(app: &App, key: &str) -> String {
    eventually("the conversation", DEADLINE, async || {
        let conversations = app.all_conversations(key).await;
        conversations
            .first()
            .map(|c| c["id"].as_str().expect("an id").to_owned())
    })
    .await
}

#[tokio::test]
async fn a_subscription_gets_every_event_of_a_conversation_once_signed_and_in_order() {
    let app = App::spawn_with(ENV).await;
    let admin = app.create_agent("Ana", "ana@support.example", ADMIN);
    let receiver = WebhookReceiver::start().await;
    let (_, secret) = subscribe(&app, &admin, &receiver.url("/hooks/switchboard"), &[]).await;
    let feed_start = app.get_ok(&admin, "/v1/events").await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();

    // The scripted conversation: a message in, assigned, answered, delivered, resolved.
    let email = format!("{}@example.com", unique("hook"));
    let text = format!("my card was charged twice {}", unique("t"));
    app.submit(&[("name", "Kim"), ("email", &email), ("message", &text)])
        .await;
    let conversation = only_conversation(&app, &admin).await;
    let ben = app.create_agent("Ben", "ben@support.example", AGENT);
    let ben_id = app.get_ok(&ben, "/v1/me").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/conversations/{conversation}");
    let (status, _, text_) = status_and_json(
        app.patch_json(&admin, &path, &json!({ "assignee_id": ben_id }))
            .await,
    )
    .await;
    assert!(status.is_success(), "{text_}");
    let (status, _, text_) = status_and_json(
        app.post_json(
            &ben,
            &format!("{path}/replies"),
            &json!({ "text": "Refunded: you will see it in 3 days." }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "{text_}");
    received_until(&receiver, "reply.delivered").await;
    let (status, _, text_) = status_and_json(
        app.patch_json(&ben, &path, &json!({ "status": "resolved" }))
            .await,
    )
    .await;
    assert!(status.is_success(), "{text_}");
    // The resolve asks the customer for a rating: its event comes last.
    let got = received_until(&receiver, "conversation.survey_sent").await;

    // Exactly what the event log holds, each once, in the log's order.
    let mut logged = Vec::new();
    let mut cursor = feed_start;
    loop {
        let page = app
            .get_ok(&admin, &format!("/v1/events?after={cursor}&limit=100"))
            .await;
        let events = page["events"].as_array().unwrap().clone();
        if events.is_empty() {
            break;
        }
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
        logged.extend(events);
    }
    // Nothing more is on its way.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got_all = receiver.received();
    assert_eq!(got_all.len(), got.len(), "nothing after the last event");
    let change = |r: &Received| r.json()["data"]["change"].clone();
    let mut delivered_ids: Vec<String> = got_all
        .iter()
        .map(|r| change(r)["id"].to_string())
        .collect();
    let mut logged_ids: Vec<String> = logged.iter().map(|e| e["id"].to_string()).collect();
    // In the log's order within the conversation (other groups, such as the new
    // contact, may arrive between them).
    let in_conversation = |events: Vec<Value>| -> Vec<Value> {
        events
            .into_iter()
            .filter(|e| e["conversation_id"] == conversation.as_str())
            .map(|e| e["id"].clone())
            .collect()
    };
    assert_eq!(
        in_conversation(got_all.iter().map(change).collect()),
        in_conversation(logged.clone()),
        "the conversation's events in the log's order"
    );
    delivered_ids.sort();
    logged_ids.sort();
    assert_eq!(
        delivered_ids,
        logged_ids,
        "every logged event, once: {:#?}",
        got_all.iter().map(Received::kind).collect::<Vec<_>>()
    );
    let kinds: Vec<String> = got_all.iter().map(Received::kind).collect();
    for kind in [
        "contact.created",
        "conversation.created",
        "message.received",
        "conversation.assigned",
        "reply.queued",
        "reply.delivered",
        "conversation.status_changed",
        "conversation.survey_sent",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    let mut ids: Vec<&str> = got_all.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), got_all.len(), "one Webhook-Id per event");
    verify_signatures(&secret, &got_all);

    // The payload shows what the API shows.
    let message = got_all
        .iter()
        .find(|r| r.kind() == "message.received")
        .unwrap()
        .json();
    assert_eq!(message["data"]["message"]["text"], text.as_str());
    assert_eq!(message["data"]["conversation"]["id"], conversation.as_str());
    assert!(
        message["data"]["contact"].to_string().contains(&email),
        "{message}"
    );
    let resolved = got_all.last().unwrap().json();
    assert_eq!(resolved["data"]["conversation"]["status"], "resolved");

    // And the delivery log says so.
    let webhooks = app.get_ok(&admin, "/v1/webhooks").await;
    let webhook = webhooks["items"][0]["id"].as_str().unwrap().to_owned();
    let log = deliveries(&app, &admin, &webhook).await;
    assert_eq!(log.len(), got_all.len());
    for line in &log {
        assert_eq!(line["status"], "delivered", "{line}");
        assert_eq!(line["attempts"], 1, "{line}");
        assert_eq!(line["last_attempt"]["response_status"], 200, "{line}");
    }
}

#[tokio::test]
async fn a_failing_endpoint_is_tried_again_with_the_same_id_until_it_answers() {
    let app = App::spawn_with(ENV).await;
    let admin = app.create_agent("Ana", "ana@support.example", ADMIN);
    let receiver = WebhookReceiver::start().await;
    let (webhook, secret) =
        subscribe(&app, &admin, &receiver.url("/in"), &["message.received"]).await;
    // 500, then "busy, come back in 3 s", then 503, then 200.
    receiver.answer_next(&[(500, None), (429, Some(3)), (503, None)]);
    let email = format!("{}@example.com", unique("retry"));
    app.submit(&[("email", &email), ("message", "is anyone there?")])
        .await;
    let got = received(&receiver, 4).await;
    assert!(
        got.iter().all(|r| r.id == got[0].id),
        "the same Webhook-Id on every try"
    );
    assert!(got.iter().all(|r| r.kind() == "message.received"));
    let gap = got[2].at.duration_since(got[1].at);
    assert!(
        gap >= Duration::from_millis(2_900),
        "Retry-After: 3 was honoured: {gap:?}"
    );
    verify_signatures(&secret, &got);
    let line = eventually("the delivery settles", DEADLINE, async || {
        let log = deliveries(&app, &admin, &webhook).await;
        log.into_iter().find(|l| l["status"] == "delivered")
    })
    .await;
    assert_eq!(line["id"], got[0].id.as_str());
    assert_eq!(line["attempts"], 4, "{line}");
    assert_eq!(line["last_attempt"]["response_status"], 200, "{line}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 4, "no try after it arrived");
}

#[tokio::test]
async fn a_410_fails_that_delivery_and_disables_nothing_and_replay_sends_it_again() {
    let app = App::spawn_with(ENV).await;
    let admin = app.create_agent("Ana", "ana@support.example", ADMIN);
    let receiver = WebhookReceiver::start().await;
    let (webhook, secret) =
        subscribe(&app, &admin, &receiver.url("/in"), &["message.received"]).await;
    receiver.answer_next(&[(410, None)]);
    app.submit(&[("email", "gone@example.com"), ("message", "first")])
        .await;
    let first = received(&receiver, 1).await;
    let failed = eventually("the 410 is logged", DEADLINE, async || {
        let log = deliveries(&app, &admin, &webhook).await;
        log.into_iter().find(|l| l["status"] == "failed")
    })
    .await;
    assert_eq!(failed["attempts"], 1, "a 410 is not tried again: {failed}");
    assert_eq!(failed["last_attempt"]["response_status"], 410);
    let sub = app.get_ok(&admin, &format!("/v1/webhooks/{webhook}")).await;
    assert_eq!(sub["enabled"], true, "{sub}");
    assert_eq!(sub["failures_in_a_row"], 1, "{sub}");

    // The next one arrives, and the count starts again.
    app.submit(&[("email", "next@example.com"), ("message", "second")])
        .await;
    let got = received(&receiver, 2).await;
    assert_ne!(got[1].id, first[0].id);
    let sub = eventually("the count starts again", DEADLINE, async || {
        let sub = app.get_ok(&admin, &format!("/v1/webhooks/{webhook}")).await;
        (sub["failures_in_a_row"] == 0).then_some(sub)
    })
    .await;
    assert_eq!(sub["enabled"], true);

    // Replay one: the failed delivery goes again, with its id.
    let failed_id = failed["id"].as_str().unwrap();
    let (status, replayed, text) = status_and_json(
        app.post_json(
            &admin,
            &format!("/v1/webhooks/{webhook}/deliveries/{failed_id}/replay"),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 202, "{text}");
    assert_eq!(replayed["status"], "pending");
    let got = received(&receiver, 3).await;
    assert_eq!(got[2].id, first[0].id, "a replay keeps the Webhook-Id");
    let line = eventually("the replay arrives", DEADLINE, async || {
        let log = deliveries(&app, &admin, &webhook).await;
        log.into_iter()
            .find(|l| l["id"] == failed_id && l["status"] == "delivered")
    })
    .await;
    assert_eq!(
        line["attempts"], 1,
        "a replay counts its tries afresh: {line}"
    );
    assert_eq!(line["replays"], 1);

    // Replay everything since before the first: both go again, oldest first.
    let since = (chrono::Utc::now() - chrono::TimeDelta::minutes(5)).to_rfc3339();
    let (status, answer, text) = status_and_json(
        app.post_json(
            &admin,
            &format!("/v1/webhooks/{webhook}/replay"),
            &json!({ "since": since }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 202, "{text}");
    assert_eq!(answer["replayed"], 2);
    let got = received(&receiver, 5).await;
    let mut again: Vec<&str> = got[3..].iter().map(|r| r.id.as_str()).collect();
    again.sort();
    let mut want = vec![got[0].id.as_str(), got[1].id.as_str()];
    want.sort();
    assert_eq!(again, want);
    verify_signatures(&secret, &got);
}

#[tokio::test]
async fn a_subscription_that_keeps_failing_is_turned_off_and_says_why() {
    let app = App::spawn_with(ENV).await;
    let admin = app.create_agent("Ana", "ana@support.example", ADMIN);
    let receiver = WebhookReceiver::start().await;
    let (webhook, _) = subscribe(&app, &admin, &receiver.url("/in"), &["message.received"]).await;
    receiver.answer_next(&[(404, None); 10]);
    for n in 0..10 {
        app.submit(&[
            ("email", &format!("c{n}-{}@example.com", unique("off"))),
            ("message", "hello"),
        ])
        .await;
    }
    let sub = eventually("the subscription is turned off", DEADLINE, async || {
        let sub = app.get_ok(&admin, &format!("/v1/webhooks/{webhook}")).await;
        (sub["enabled"] == false).then_some(sub)
    })
    .await;
    let reason = sub["disabled_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("10 deliveries in a row failed") && reason.contains("HTTP 404"),
        "{sub}"
    );
    // Turned on again, it starts afresh.
    let (status, sub, text) = status_and_json(
        app.patch_json(
            &admin,
            &format!("/v1/webhooks/{webhook}"),
            &json!({ "enabled": true }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(sub["disabled_reason"], Value::Null);
    assert_eq!(sub["failures_in_a_row"], 0);
}

#[tokio::test]
async fn a_ping_is_signed_and_its_answer_shown() {
    let app = App::spawn_with(ENV).await;
    let admin = app.create_agent("Ana", "ana@support.example", ADMIN);
    let receiver = WebhookReceiver::start().await;
    let (webhook, secret) = subscribe(&app, &admin, &receiver.url("/in"), &[]).await;
    receiver.answer_next(&[(418, None)]);
    let (status, queued, text) = status_and_json(
        app.post_json(&admin, &format!("/v1/webhooks/{webhook}/ping"), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 202, "{text}");
    assert_eq!(queued["status"], "pending", "{text}");
    assert_eq!(queued["change"]["type"], "webhook.ping", "{text}");
    let got = received(&receiver, 1).await;
    assert_eq!(got[0].kind(), "webhook.ping");
    assert_eq!(got[0].id, queued["id"].as_str().unwrap());
    verify_signatures(&secret, &got);
    // Its line in the log tells the answer; a ping is tried once and counts for nothing.
    let line = eventually("the ping's answer is logged", DEADLINE, async || {
        let log = deliveries(&app, &admin, &webhook).await;
        log.into_iter().find(|l| l["status"] != "pending")
    })
    .await;
    assert_eq!(line["status"], "failed", "{line}");
    assert_eq!(line["last_attempt"]["response_status"], 418, "{line}");
    assert_eq!(line["last_attempt"]["response"], "scripted", "{line}");
    let sub = app.get_ok(&admin, &format!("/v1/webhooks/{webhook}")).await;
    assert_eq!(sub["failures_in_a_row"], 0, "{sub}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 1, "not tried again");
}

#[tokio::test]
async fn internal_addresses_and_plain_http_are_refused_and_only_admins_subscribe() {
    let app = App::spawn().await;
    let admin = app.create_agent("Ana", "ana@support.example", ADMIN);
    let agent = app.create_agent("Ben", "ben@support.example", AGENT);
    for url in [
        "https://10.0.0.5/hook",
        "https://192.168.1.20/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00::1]/hook",
        "https://[::ffff:172.16.0.1]/hook",
        "http://hooks.example.com/in",
        "https://user:pass@hooks.example.com/in",
        "file:///etc/passwd",
    ] {
        let (status, problem) = problem_of(
            app.post_json(&admin, "/v1/webhooks", &json!({ "url": url }))
                .await,
        )
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(status, 422, "{url}: {problem}");
    }
    let (status, _) = problem_of(
        app.post_json(
            &agent,
            "/v1/webhooks",
            &json!({ "url": "https://hooks.example.com/" }),
        )
        .await,
    )
    .await
    .unwrap();
    assert_eq!(status, 403);
    let (status, _) = problem_of(app.get(&agent, "/v1/webhooks").await)
        .await
        .unwrap();
    assert_eq!(status, 403);
    let list = app.get_ok(&admin, "/v1/webhooks").await;
    assert_eq!(list["items"], json!([]), "nothing was stored");
    // A public HTTPS endpoint is taken (nothing is sent to it here).
    let (status, _, text) = status_and_json(
        app.post_json(
            &admin,
            "/v1/webhooks",
            &json!({ "url": "https://hooks.example.com/in", "types": ["message.received"], "enabled": false }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let (status, problem) = problem_of(
        app.post_json(
            &admin,
            "/v1/webhooks",
            &json!({ "url": "https://hooks.example.com/in", "types": ["message.sent"] }),
        )
        .await,
    )
    .await
    .unwrap();
    assert_eq!(status, 422, "an unknown type: {problem}");
}

#[tokio::test]
async fn a_conversation_keeps_its_order_while_the_endpoint_fails() {
    let app = App::spawn_with(ENV).await;
    let admin = app.create_agent("Ana", "ana@support.example", ADMIN);
    let receiver = WebhookReceiver::start().await;
    subscribe(&app, &admin, &receiver.url("/in"), &[]).await;
    let start = app.get_ok(&admin, "/v1/events").await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    receiver.answer_next(&[(503, None), (503, None), (503, None)]);
    app.submit(&[("email", "order@example.com"), ("message", "one")])
        .await;
    let conversation = only_conversation(&app, &admin).await;
    let path = format!("/v1/conversations/{conversation}");
    for body in [
        json!({ "priority": "high" }),
        json!({ "tags": ["billing"] }),
        json!({ "status": "pending" }),
    ] {
        let (status, _, text) = status_and_json(app.patch_json(&admin, &path, &body).await).await;
        assert!(status.is_success(), "{text}");
    }
    let page = app
        .get_ok(&admin, &format!("/v1/events?after={start}&limit=100"))
        .await;
    let logged: Vec<Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["conversation_id"] == conversation.as_str())
        .map(|e| e["id"].clone())
        .collect();
    assert!(logged.len() >= 5, "{page}");
    // Each event arrives once with a 200; those, in the conversation, in the log's order.
    let arrived = eventually("every event arrives", DEADLINE, async || {
        let got = receiver.received();
        let arrived: Vec<Value> = got[3.min(got.len())..]
            .iter()
            .map(|r| r.json()["data"]["change"].clone())
            .filter(|c| c["conversation_id"] == conversation.as_str())
            .map(|c| c["id"].clone())
            .collect();
        (arrived.len() >= logged.len()).then_some(arrived)
    })
    .await;
    assert_eq!(arrived, logged);
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_old_one_and_subscriptions_are_capped() {
    let app = App::spawn_with(ENV).await;
    let admin = app.create_agent("Ana", "ana@support.example", ADMIN);
    let receiver = WebhookReceiver::start().await;
    let (webhook, old) = subscribe(&app, &admin, &receiver.url("/in"), &[]).await;
    let (status, rotated, text) = status_and_json(
        app.post_json(
            &admin,
            &format!("/v1/webhooks/{webhook}/rotate-secret"),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let new = rotated["secret"].as_str().expect("a secret").to_owned();
    assert_ne!(new, old);
    assert!(
        rotated["webhook"]["previous_secret_expires_at"].is_string(),
        "{text}"
    );
    app.post_json(&admin, &format!("/v1/webhooks/{webhook}/ping"), &json!({}))
        .await;
    let got = received(&receiver, 1).await;
    assert_eq!(
        got[0].signature.split(' ').count(),
        2,
        "two signatures: {}",
        got[0].signature
    );
    // Either secret checks it.
    verify_signatures(&new, &got);
    verify_signatures(&old, &got);

    for n in 1..20 {
        subscribe(
            &app,
            &admin,
            &receiver.url(&format!("/more/{n}")),
            &["note.added"],
        )
        .await;
    }
    let (status, problem) = problem_of(
        app.post_json(
            &admin,
            "/v1/webhooks",
            &json!({ "url": receiver.url("/one-too-many") }),
        )
        .await,
    )
    .await
    .unwrap();
    assert_eq!(status, 409, "{problem}");
}

#[tokio::test]
async fn a_slow_endpoint_holds_back_only_itself_and_a_long_answer_is_cut() {
    let app = App::spawn_with(ENV).await;
    let admin = app.create_agent("Ana", "ana@support.example", ADMIN);
    let slow = WebhookReceiver::start().await;
    slow.answer_after(Duration::from_secs(8));
    let fast = WebhookReceiver::start().await;
    fast.answer_with("x".repeat(100_000));
    subscribe(&app, &admin, &slow.url("/slow"), &["message.received"]).await;
    let (fast_id, _) = subscribe(&app, &admin, &fast.url("/fast"), &["message.received"]).await;
    // The first message's deliveries are in flight (the slow one for 8 s) when the
    // second comes: the fast endpoint gets it at once all the same.
    app.submit(&[("email", "slow1@example.com"), ("message", "hello")])
        .await;
    received(&fast, 1).await;
    received(&slow, 1).await;
    app.submit(&[("email", "slow2@example.com"), ("message", "hello")])
        .await;
    let started = std::time::Instant::now();
    received(&fast, 2).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the fast endpoint waited for the slow one: {:?}",
        started.elapsed()
    );
    // The endpoint has the request before the sender has read its answer and logged it.
    let log = eventually("both answers logged", DEADLINE, async || {
        let log = deliveries(&app, &admin, &fast_id).await;
        (log.len() == 2
            && log
                .iter()
                .all(|l| l["last_attempt"]["response"].is_string()))
        .then_some(log)
    })
    .await;
    for line in &log {
        let answer = line["last_attempt"]["response"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(
            answer.len(),
            512,
            "the answer's start only: {}",
            answer.len()
        );
    }
}
