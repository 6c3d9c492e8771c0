//! A keyed web-form submission is queued once: the first under a key goes on the inbound
//! queue, a repeat under it sends nothing and gets the first one's value back.

use crate::backends::Submissions;
use chrono::{Duration, Utc};
use shared::ports::{Enqueue, QueueName};

on_both_backends!(
    embedded: crate::backends::embedded_submissions,
    aws: crate::backends::aws_submissions,
    tests: [a_keyed_submission_is_queued_once_and_a_repeat_gets_the_first_value]
);

fn message(body: &str) -> Enqueue {
    Enqueue {
        body: body.as_bytes().to_vec(),
        group: body.into(),
        dedup: body.into(),
    }
}

async fn a_keyed_submission_is_queued_once_and_a_repeat_gets_the_first_value(s: &Submissions) {
    let later = Utc::now() + Duration::hours(1);
    let first = s
        .once
        .send_once("key-a", "first".into(), later, message("one"))
        .await
        .unwrap();
    assert_eq!(first, "first");
    let repeat = s
        .once
        .send_once("key-a", "second".into(), later, message("two"))
        .await
        .unwrap();
    assert_eq!(repeat, "first", "the key keeps its first value");
    let other = s
        .once
        .send_once("key-b", "third".into(), later, message("three"))
        .await
        .unwrap();
    assert_eq!(other, "third");

    assert_eq!(
        handle_all(s, 2).await,
        ["one", "three"],
        "the repeat sent nothing"
    );

    let after_handling = s
        .once
        .send_once("key-a", "fourth".into(), later, message("four"))
        .await
        .unwrap();
    assert_eq!(
        after_handling, "first",
        "the key outlives its message being handled"
    );

    let past = Utc::now() - Duration::seconds(1);
    let stale = s
        .once
        .send_once("key-c", "old".into(), past, message("stale"))
        .await
        .unwrap();
    assert_eq!(stale, "old");
    let renewed = s
        .once
        .send_once("key-c", "new".into(), later, message("fresh"))
        .await
        .unwrap();
    assert_eq!(renewed, "new", "an expired key is free again");
    assert_eq!(
        handle_all(s, 2).await,
        ["fresh", "stale"],
        "the message sent under the expired key is still delivered, and nothing for key-a"
    );
}

/// Receives and acknowledges until `expected` messages are in, then reads once more:
/// anything sent that should not have been would be visible by then. Sorted bodies.
async fn handle_all(s: &Submissions, expected: usize) -> Vec<String> {
    let mut bodies = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let mut reads_after = 1;
    while reads_after > 0 && std::time::Instant::now() < deadline {
        if bodies.len() >= expected {
            reads_after -= 1;
        }
        let deliveries = s
            .queue
            .receive(QueueName::Inbound, 10, std::time::Duration::from_secs(60))
            .await
            .unwrap();
        let receipts: Vec<String> = deliveries.iter().map(|d| d.receipt.clone()).collect();
        bodies.extend(
            deliveries
                .into_iter()
                .map(|d| String::from_utf8(d.body).unwrap()),
        );
        if !receipts.is_empty() {
            s.queue.ack(QueueName::Inbound, &receipts).await.unwrap();
        }
    }
    bodies.sort();
    bodies
}
