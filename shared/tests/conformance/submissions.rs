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

    // Read until the two sent are in, then once more: anything the repeat sent would be
    // visible by then.
    let mut bodies = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let mut reads_after = 1;
    while reads_after > 0 && std::time::Instant::now() < deadline {
        if bodies.len() >= 2 {
            reads_after -= 1;
        }
        for delivery in s
            .queue
            .receive(QueueName::Inbound, 10, std::time::Duration::from_secs(60))
            .await
            .unwrap()
        {
            bodies.push(String::from_utf8(delivery.body).unwrap());
        }
    }
    bodies.sort();
    assert_eq!(bodies, ["one", "three"], "the repeat sent nothing");
}
