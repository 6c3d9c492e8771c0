//! Outbound webhooks on AWS, end to end on the emulator: a subscription made through
//! `inbox-api`; a web-form message routed by `router`; the table's stream through
//! `event-log`, which records the deliveries and queues them; `webhook-sender` POSTing
//! them over HTTPS to a local receiver (allowed by name, as an admin allows an internal
//! host), signed, tried again with the same id after a failure.

use e2e::stack::{Source, Stack};
use e2e::table_stream::TableStream;
use e2e::{Received, WebhookReceiver, test_ca, unique, verify_signatures};
use serde_json::json;
use shared::model::Role;
use std::time::Duration;

#[tokio::test]
async fn a_routed_message_reaches_a_subscription_through_the_stream_and_the_queue() {
    let receiver = WebhookReceiver::start_tls().await;
    let ca = test_ca();
    let mut stack = Stack::start_with(&[
        ("SWITCHBOARD_WEBHOOK_ALLOW_HOSTS", "127.0.0.1"),
        ("SWITCHBOARD_WEBHOOK_RETRY_SECONDS", "1,1"),
        ("SSL_CERT_FILE", ca.to_str().expect("a path")),
    ])
    .await;
    let mut stream = TableStream::new(&stack.cloud.endpoint, &stack.cloud.settings.table);
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;

    // Plain HTTP is refused on AWS, even to an allowed host.
    let plain = stack
        .api(
            "POST",
            "/v1/webhooks",
            &key,
            Some(&json!({ "url": receiver.url("/hook").replace("https:", "http:") })),
        )
        .await;
    assert_eq!(plain.status, 422, "{}", plain.text());
    let created = stack
        .api(
            "POST",
            "/v1/webhooks",
            &key,
            Some(&json!({ "url": receiver.url("/hook"), "types": ["message.received"] })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let created = created.json();
    let secret = created["secret"].as_str().expect("a secret").to_owned();
    let webhook = created["webhook"]["id"].as_str().expect("an id").to_owned();
    let ping = stack
        .api("POST", &format!("/v1/webhooks/{webhook}/ping"), &key, None)
        .await;
    assert_eq!(ping.status, 202, "{}", ping.text());
    // The ping goes out through the webhooks queue, as every delivery does.
    let pinged = stack.deliver_batch(Source::Webhooks).await;
    assert_eq!(
        (pinged.received.len(), pinged.failed.len()),
        (1, 0),
        "{pinged:?}"
    );
    assert_eq!(receiver.received()[0].kind(), "webhook.ping");

    // The subscription answers 500 the first time.
    receiver.answer_next(&[(500, None)]);
    let email = format!("{}@example.com", unique("hook"));
    let question = unique("Was I charged twice?");
    let response = stack
        .post_webform(&[("email", email.as_str()), ("message", question.as_str())])
        .await;
    assert_eq!(response.status, 202, "{}", response.text());
    stack.deliver_batch(Source::Inbound).await;
    assert!(stack.deliver_stream(&mut stream).await > 0);

    let first = stack.deliver_batch(Source::Webhooks).await;
    assert_eq!(first.received.len(), 1, "one delivery queued: {first:?}");
    assert_eq!(
        first.failed, first.received,
        "the 500 leaves it on the queue"
    );
    // Its next try is due in a second.
    let mut tries = 0;
    while receiver.received().len() < 3 && tries < 20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        stack.deliver_batch(Source::Webhooks).await;
        tries += 1;
    }
    let got: Vec<Received> = receiver.received();
    assert_eq!(got.len(), 3, "the ping, the 500 and the retry");
    assert_eq!(got[1].id, got[2].id, "the same Webhook-Id on the retry");
    let delivered = got[2].json();
    assert_eq!(delivered["type"], "message.received");
    assert_eq!(delivered["data"]["message"]["text"], question.as_str());
    assert!(
        delivered["data"]["contact"].to_string().contains(&email),
        "{delivered}"
    );
    verify_signatures(&secret, &got);

    let log = stack
        .get_ok(&key, &format!("/v1/webhooks/{webhook}/deliveries"))
        .await;
    let line = &log["items"][0];
    assert_eq!(line["status"], "delivered", "{log}");
    assert_eq!(line["attempts"], 2, "{log}");
    assert_eq!(line["id"], got[2].id.as_str());
    // Nothing is left to send.
    assert!(
        stack
            .deliver_batch(Source::Webhooks)
            .await
            .received
            .is_empty()
    );
}
