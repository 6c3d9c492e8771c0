//! The event log on AWS, end to end on the emulator: the router and the sender write
//! the table, its stream (read as the event source mapping reads it) reaches the real
//! `event-log` function, and `GET /v1/events` on `inbox-api` tells every change once,
//! in order for the conversation.

use e2e::stack::{Source, Stack};
use e2e::table_stream::TableStream;
use e2e::unique;
use serde_json::{Value, json};
use shared::model::Role;
use std::time::Duration;

/// Everything the feed holds after `after`.
async fn read_all(stack: &mut Stack, key: &str, after: &str) -> (Vec<Value>, String) {
    let mut events = Vec::new();
    let mut cursor = after.to_owned();
    loop {
        let page = stack
            .get_ok(key, &format!("/v1/events?after={cursor}&limit=3"))
            .await;
        let batch = page["events"].as_array().expect("events").clone();
        cursor = page["next_cursor"].as_str().expect("a cursor").to_owned();
        if batch.is_empty() {
            return (events, cursor);
        }
        events.extend(batch);
    }
}

#[tokio::test]
async fn a_conversations_changes_reach_the_feed_through_the_tables_stream() {
    let mut stack = Stack::start().await;
    let mut stream = TableStream::new(&stack.cloud.endpoint, &stack.cloud.settings.table);
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    let start = stack.get_ok(&key, "/v1/events").await;
    let start = start["next_cursor"].as_str().expect("a cursor").to_owned();

    let email = format!("{}@example.com", unique("stream"));
    let question = unique("The card was charged twice");
    let response = stack
        .post_webform(&[("email", email.as_str()), ("message", question.as_str())])
        .await;
    assert_eq!(response.status, 202, "{}", response.text());
    stack.deliver_batch(Source::Inbound).await;
    let conversation = stack.all_conversations(&key).await[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let reply = stack
        .api(
            "POST",
            &format!("/v1/conversations/{conversation}/replies"),
            &key,
            Some(&json!({ "text": "Refunded" })),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    stack.deliver_batch(Source::Outbound).await;
    let resolved = stack
        .api(
            "PATCH",
            &format!("/v1/conversations/{conversation}"),
            &key,
            Some(&json!({ "status": "resolved" })),
        )
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.text());

    let handed = stack.deliver_stream(&mut stream).await;
    assert!(handed > 0, "the stream had records for the function");
    // Readers read pages a second old (FEED_SETTLE).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (events, cursor) = read_all(&mut stack, &key, &start).await;

    let mut ids: Vec<&str> = events
        .iter()
        .map(|e| e["id"].as_str().expect("an id"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "every change once: {events:#?}");
    let of_conversation: Vec<&str> = events
        .iter()
        .filter(|e| e["conversation_id"] == conversation.as_str())
        .map(|e| e["type"].as_str().expect("a type"))
        .collect();
    let mut expected_in_order = [
        "message.received",
        "reply.queued",
        "reply.delivered",
        "conversation.status_changed",
    ]
    .into_iter()
    .peekable();
    for kind in &of_conversation {
        if expected_in_order.peek() == Some(kind) {
            expected_in_order.next();
        }
    }
    assert_eq!(
        expected_in_order.next(),
        None,
        "in order for the conversation: {of_conversation:?}"
    );
    assert!(
        of_conversation.contains(&"conversation.created"),
        "{of_conversation:?}"
    );
    assert!(
        events.iter().any(|e| e["type"] == "contact.created"),
        "{events:#?}"
    );

    // Nothing new: a read from the end finds nothing, and the records already handed on
    // are not handed again.
    assert_eq!(stack.deliver_stream(&mut stream).await, 0);
    let (more, _) = read_all(&mut stack, &key, &cursor).await;
    assert!(more.is_empty(), "{more:#?}");
}
