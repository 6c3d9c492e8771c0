//! The queue port's contract, on the embedded queue and on SQS.

use shared::ports::{Delivery, Enqueue, PageRequest, Queue, QueueName};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

on_both_backends!(
    embedded: crate::backends::embedded_queue,
    aws: crate::backends::sqs_queue,
    tests: [
        a_sent_message_is_received_once_and_gone_after_ack,
        more_than_ten_messages_travel_in_batches,
        a_second_message_with_the_same_dedup_key_is_dropped,
        a_received_message_stays_hidden_while_its_visibility_lasts,
        a_released_message_comes_back_after_its_delay,
        a_message_that_fails_too_often_becomes_a_dead_letter_and_can_be_replayed,
        an_ordered_queue_holds_a_group_back_while_its_first_message_waits,
        replaying_an_unknown_id_answers_false,
        any_body_group_and_dedup_key_travel,
    ]
);

/// Long enough that nothing reappears while a test looks.
const HIDDEN: Duration = Duration::from_secs(60);
/// How long a test waits for something that should arrive.
const PATIENCE: Duration = Duration::from_secs(15);

fn message(body: &str, group: &str) -> Enqueue {
    Enqueue {
        body: body.as_bytes().to_vec(),
        group: group.into(),
        dedup: body.into(),
    }
}

fn bodies(deliveries: &[Delivery]) -> BTreeSet<String> {
    deliveries
        .iter()
        .map(|d| String::from_utf8(d.body.clone()).unwrap())
        .collect()
}

/// Receives until `n` deliveries came (acking each batch when `ack`), or fails.
async fn receive_n(
    q: &dyn Queue,
    queue: QueueName,
    n: usize,
    visibility: Duration,
    ack: bool,
) -> Vec<Delivery> {
    let start = Instant::now();
    let mut got = Vec::new();
    while got.len() < n {
        assert!(
            start.elapsed() < PATIENCE,
            "{queue:?}: {} of {n} messages arrived",
            got.len()
        );
        let batch = q.receive(queue, n - got.len(), visibility).await.unwrap();
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if ack && !batch.is_empty() {
            let receipts: Vec<_> = batch.iter().map(|d| d.receipt.clone()).collect();
            q.ack(queue, &receipts).await.unwrap();
        }
        got.extend(batch);
    }
    got
}

async fn assert_empty(q: &dyn Queue, queue: QueueName) {
    let left = q.receive(queue, 10, Duration::ZERO).await.unwrap();
    assert!(left.is_empty(), "{queue:?} still holds {:?}", bodies(&left));
}

async fn a_sent_message_is_received_once_and_gone_after_ack(q: &dyn Queue) {
    for queue in QueueName::ALL {
        let sent = ["one", "two", "three"];
        q.send(queue, sent.iter().map(|b| message(b, b)).collect())
            .await
            .unwrap();
        let got = receive_n(q, queue, 3, Duration::from_secs(1), false).await;
        assert_eq!(bodies(&got), sent.iter().map(|s| s.to_string()).collect());
        assert!(got.iter().all(|d| d.receive_count == 1), "{got:?}");
        let receipts: Vec<_> = got.iter().map(|d| d.receipt.clone()).collect();
        q.ack(queue, &receipts).await.unwrap();
        // Past the visibility timeout: an acked message does not come back.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_empty(q, queue).await;
        // Acking again is harmless.
        q.ack(queue, &receipts).await.unwrap();
    }
}

async fn more_than_ten_messages_travel_in_batches(q: &dyn Queue) {
    for queue in QueueName::ALL {
        let sent: Vec<_> = (0..25)
            .map(|i| message(&format!("m{i}"), &format!("g{}", i % 3)))
            .collect();
        q.send(queue, sent).await.unwrap();
        // Acked as they come: a FIFO queue holds back the rest of a group until then.
        let got = receive_n(q, queue, 25, HIDDEN, true).await;
        assert_eq!(bodies(&got).len(), 25);
        assert_empty(q, queue).await;
    }
}

async fn a_second_message_with_the_same_dedup_key_is_dropped(q: &dyn Queue) {
    // Only the inbound queue promises it on AWS (a FIFO queue, for five minutes).
    let queue = QueueName::Inbound;
    let twin = |body: &str| Enqueue {
        dedup: "telegram:update:42".into(),
        ..message(body, "customer-1")
    };
    q.send(queue, vec![twin("first"), twin("same batch")])
        .await
        .unwrap();
    q.send(queue, vec![twin("later call")]).await.unwrap();
    let got = receive_n(q, queue, 1, HIDDEN, true).await;
    assert_eq!(bodies(&got), BTreeSet::from(["first".to_string()]));
    assert_empty(q, queue).await;
}

async fn a_received_message_stays_hidden_while_its_visibility_lasts(q: &dyn Queue) {
    for queue in QueueName::ALL {
        q.send(queue, vec![message("hidden", "g")]).await.unwrap();
        let got = receive_n(q, queue, 1, HIDDEN, false).await;
        assert_eq!(got[0].body, b"hidden");
        assert_empty(q, queue).await;
    }
}

async fn a_released_message_comes_back_after_its_delay(q: &dyn Queue) {
    for queue in QueueName::ALL {
        q.send(queue, vec![message("retry me", "g")]).await.unwrap();
        let got = receive_n(q, queue, 1, HIDDEN, false).await;
        let delay = Duration::from_secs(3);
        let released = Instant::now();
        q.release(queue, &got[0].receipt, delay, "provider said 503")
            .await
            .unwrap();
        assert_empty(q, queue).await;
        let again = receive_n(q, queue, 1, HIDDEN, true).await;
        assert!(
            released.elapsed() >= delay - Duration::from_millis(500),
            "{queue:?}: back after {:?}",
            released.elapsed()
        );
        assert_eq!(again[0].id, got[0].id);
        assert_eq!(again[0].body, b"retry me");
        assert_eq!(again[0].receive_count, 2);
    }
}

async fn a_message_that_fails_too_often_becomes_a_dead_letter_and_can_be_replayed(q: &dyn Queue) {
    for queue in QueueName::ALL {
        // Different groups: on a FIFO queue the poison must not hold the other back.
        q.send(queue, vec![message("poison", "a"), message("fine", "b")])
            .await
            .unwrap();
        let mut poison_id = None;
        for round in 1..=queue.max_receives() {
            let start = Instant::now();
            let poison = loop {
                assert!(start.elapsed() < PATIENCE, "{queue:?}: round {round}");
                let got = q.receive(queue, 10, HIDDEN).await.unwrap();
                for fine in got.iter().filter(|d| d.body == b"fine") {
                    q.ack(queue, std::slice::from_ref(&fine.receipt))
                        .await
                        .unwrap();
                }
                if let Some(poison) = got.into_iter().find(|d| d.body == b"poison") {
                    break poison;
                }
            };
            assert_eq!(poison.receive_count, round, "{queue:?}");
            poison_id = Some(poison.id.clone());
            q.release(queue, &poison.receipt, Duration::ZERO, "boom")
                .await
                .unwrap();
        }
        let poison_id = poison_id.unwrap();
        // The next receive sets it aside (SQS's redrive moves it to the DLQ then).
        assert_empty(q, queue).await;

        let dead = q
            .dead_letters(queue, &PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(dead.items.len(), 1, "{queue:?}: {dead:?}");
        let letter = &dead.items[0];
        assert_eq!(letter.id, poison_id);
        assert_eq!(letter.body, "poison");
        assert_eq!(letter.queue, queue);
        assert_eq!(letter.receive_count, queue.max_receives(), "{queue:?}");
        // Listing them did not take them away.
        let again = q
            .dead_letters(queue, &PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(
            again.items.len(),
            1,
            "{queue:?}: a listing hid the dead letter"
        );

        assert!(q.replay(queue, &poison_id).await.unwrap());
        let back = receive_n(q, queue, 1, HIDDEN, true).await;
        assert_eq!(back[0].body, b"poison");
        assert_eq!(back[0].receive_count, 1, "{queue:?}: a fresh receive count");
        let none = q
            .dead_letters(queue, &PageRequest::first(10))
            .await
            .unwrap();
        assert!(none.items.is_empty(), "{queue:?}: {none:?}");
        assert!(!q.replay(queue, &poison_id).await.unwrap());
    }
}

async fn replaying_an_unknown_id_answers_false(q: &dyn Queue) {
    for queue in QueueName::ALL {
        assert!(!q.replay(queue, "no-such-message").await.unwrap());
        assert!(
            !q.replay(queue, "7d3b5c1e-0000-4000-8000-000000000000")
                .await
                .unwrap()
        );
    }
}

async fn any_body_group_and_dedup_key_travel(q: &dyn Queue) {
    for queue in QueueName::ALL {
        let odd = |body: Vec<u8>, dedup: String| Enqueue {
            body,
            group: "گروه ".repeat(60),
            dedup,
        };
        let sent = [
            odd(vec![0, 159, 146, 150, 255], "x".repeat(300)),
            odd(Vec::new(), "spaces are fine".into()),
            odd("سلام \u{7} ✓".as_bytes().to_vec(), "ünïcödé".into()),
        ];
        q.send(queue, sent.to_vec()).await.unwrap();
        let got = receive_n(q, queue, 3, HIDDEN, true).await;
        let mut want: Vec<_> = sent.iter().map(|m| m.body.clone()).collect();
        let mut have: Vec<_> = got.into_iter().map(|d| d.body).collect();
        want.sort();
        have.sort();
        assert_eq!(have, want, "{queue:?}");
    }
}

async fn an_ordered_queue_holds_a_group_back_while_its_first_message_waits(q: &dyn Queue) {
    for queue in QueueName::ALL.into_iter().filter(|q| q.keeps_group_order()) {
        q.send(
            queue,
            vec![message("a1", "a"), message("a2", "a"), message("b1", "b")],
        )
        .await
        .unwrap();
        // The first of each group comes; `a2` never before `a1` (SQS may hand it out
        // in the same receive, after `a1`).
        let mut first = Vec::new();
        let start = Instant::now();
        while !(first.iter().any(|d: &Delivery| d.body == b"a1")
            && first.iter().any(|d: &Delivery| d.body == b"b1"))
        {
            assert!(
                start.elapsed() < PATIENCE,
                "{queue:?}: a1 and b1 never came"
            );
            let batch = q.receive(queue, 10, HIDDEN).await.unwrap();
            let of_a: Vec<&[u8]> = batch
                .iter()
                .map(|d| d.body.as_slice())
                .filter(|b| b.starts_with(b"a"))
                .collect();
            assert!(
                of_a.is_empty() || of_a[0] == b"a1",
                "{queue:?}: a2 came before a1"
            );
            first.extend(batch);
        }
        let b1 = first.iter().find(|d| d.body == b"b1").unwrap();
        q.ack(queue, std::slice::from_ref(&b1.receipt))
            .await
            .unwrap();
        // `a1` must be tried again later: it goes back, and `a2`, if it came, goes back
        // at once (as the webhook deliverer does); the queue holds it behind `a1`.
        for held in first.iter().filter(|d| d.body.starts_with(b"a")) {
            let delay = if held.body == b"a1" { 2 } else { 0 };
            q.release(queue, &held.receipt, Duration::from_secs(delay), "503")
                .await
                .unwrap();
        }
        assert_empty(q, queue).await;
        // Then `a1` comes first again, and `a2` after it.
        let mut order = Vec::new();
        let start = Instant::now();
        while order.len() < 2 {
            assert!(start.elapsed() < PATIENCE, "{queue:?}: got only {order:?}");
            let batch = q.receive(queue, 10, HIDDEN).await.unwrap();
            for d in &batch {
                order.push(String::from_utf8(d.body.clone()).unwrap());
                q.ack(queue, std::slice::from_ref(&d.receipt))
                    .await
                    .unwrap();
            }
            if batch.is_empty() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        assert_eq!(order, ["a1", "a2"], "{queue:?}");
    }
}
