//! The embedded adapters against a real SQLite file.

use super::Embedded;
use crate::model::{
    Channel, ContactId, EmailAddress, Identity, InboundMessage, PhoneNumber, PresentedIdentity,
    SourceId, ThreadHint,
};
use crate::ports::{
    ContactStore, ConversationFilter, ConversationStore, Enqueue, PageRequest, Queue, QueueName,
    RouteOutcome, RoutingStore, StatusFilter,
};
use crate::services::route::RoutePolicy;
use chrono::Utc;
use std::time::Duration;

fn store() -> (tempfile::TempDir, Embedded) {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(&dir.path().join("test.db")).unwrap();
    (dir, store)
}

fn inbound(source: &str, identities: Vec<(Identity, bool)>, text: &str) -> InboundMessage {
    InboundMessage {
        source_id: SourceId::new("test", source),
        channel: Channel::Web,
        received_at: Utc::now(),
        sender_name: None,
        identities: identities
            .into_iter()
            .map(|(identity, proven)| PresentedIdentity { identity, proven })
            .collect(),
        text: text.into(),
        subject: None,
        thread: ThreadHint::None,
        customer_link: None,
        context: vec![],
    }
}

fn email(a: &str) -> Identity {
    Identity::email(&EmailAddress::parse(a).unwrap())
}

fn enqueue(dedup: &str) -> Enqueue {
    Enqueue {
        body: dedup.as_bytes().to_vec(),
        group: "g".into(),
        dedup: dedup.into(),
    }
}

#[tokio::test]
async fn a_repeated_source_id_is_stored_once() {
    let (_dir, store) = store();
    let msg = inbound("same", vec![(email("sara@example.com"), false)], "hello");
    let first = store.route(&msg, &RoutePolicy::default()).await.unwrap();
    let RouteOutcome::Stored { message_id, .. } = first else {
        panic!("first delivery must store")
    };
    let again = store.route(&msg, &RoutePolicy::default()).await.unwrap();
    assert_eq!(again, RouteOutcome::Duplicate { message_id });
}

#[tokio::test]
async fn a_burst_from_one_new_customer_makes_one_contact_and_one_conversation() {
    let (_dir, store) = store();
    let policy = RoutePolicy::default();
    let sends = (0..50).map(|i| {
        let (store, policy) = (store.clone(), policy.clone());
        async move {
            let msg = inbound(
                &format!("burst-{i}"),
                vec![(email("new@example.com"), false)],
                &format!("m{i}"),
            );
            store.route(&msg, &policy).await.unwrap()
        }
    });
    let outcomes = futures::future::join_all(sends).await;
    let mut conversations: Vec<_> = outcomes
        .iter()
        .map(|o| match o {
            RouteOutcome::Stored {
                conversation_id,
                contact_id,
                ..
            } => (*conversation_id, *contact_id),
            RouteOutcome::Duplicate { .. } => panic!("nothing was repeated"),
        })
        .collect();
    conversations.dedup();
    assert_eq!(
        conversations.len(),
        1,
        "one conversation and one contact: {conversations:?}"
    );
    let page = store
        .timeline(conversations[0].0, &PageRequest::first(100))
        .await
        .unwrap();
    let messages = page
        .items
        .iter()
        .filter(|i| matches!(i, crate::model::TimelineItem::Message(_)))
        .count();
    assert_eq!(messages, 50);
}

#[tokio::test]
async fn a_message_that_keeps_failing_becomes_a_dead_letter_after_five_deliveries_and_can_be_replayed()
 {
    let (_dir, store) = store();
    store
        .send(QueueName::Inbound, vec![enqueue("poison"), enqueue("fine")])
        .await
        .unwrap();
    for round in 1..=5 {
        let got = store
            .receive(QueueName::Inbound, 10, Duration::ZERO)
            .await
            .unwrap();
        let poison = got
            .iter()
            .find(|d| d.body == b"poison")
            .expect("poison delivered");
        assert_eq!(poison.receive_count, round);
        store
            .release(QueueName::Inbound, &poison.receipt, Duration::ZERO, "boom")
            .await
            .unwrap();
        if let Some(fine) = got.iter().find(|d| d.body == b"fine") {
            store
                .ack(QueueName::Inbound, std::slice::from_ref(&fine.receipt))
                .await
                .unwrap();
        }
    }
    assert!(
        store
            .receive(QueueName::Inbound, 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    let dead = store
        .dead_letters(QueueName::Inbound, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(dead.items.len(), 1);
    assert_eq!(dead.items[0].body, "poison");
    assert_eq!(dead.items[0].last_error.as_deref(), Some("boom"));

    assert!(
        store
            .replay(QueueName::Inbound, &dead.items[0].id)
            .await
            .unwrap()
    );
    let again = store
        .receive(QueueName::Inbound, 10, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].receive_count, 1);
    assert!(!store.replay(QueueName::Inbound, "999999").await.unwrap());
}

#[tokio::test]
async fn a_received_message_stays_hidden_until_its_visibility_ends_and_a_duplicate_is_dropped() {
    let (_dir, store) = store();
    store
        .send(QueueName::Outbound, vec![enqueue("a"), enqueue("a")])
        .await
        .unwrap();
    let got = store
        .receive(QueueName::Outbound, 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(got.len(), 1, "the duplicate was dropped");
    assert!(
        store
            .receive(QueueName::Outbound, 10, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty()
    );
    store
        .ack(QueueName::Outbound, &[got[0].receipt.clone()])
        .await
        .unwrap();
    store
        .release(QueueName::Outbound, &got[0].receipt, Duration::ZERO, "late")
        .await
        .unwrap();
    assert!(
        store
            .receive(QueueName::Outbound, 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn merging_keeps_every_identity_conversation_and_message() {
    let (_dir, store) = store();
    let policy = RoutePolicy::default();
    let phone = Identity::phone(&PhoneNumber::from_e164("+989123456789").unwrap());
    let by_email = store
        .route(
            &inbound("1", vec![(email("sara@example.com"), false)], "a"),
            &policy,
        )
        .await
        .unwrap();
    let by_phone = store
        .route(&inbound("2", vec![(phone.clone(), true)], "b"), &policy)
        .await
        .unwrap();
    let (
        RouteOutcome::Stored {
            contact_id: keep, ..
        },
        RouteOutcome::Stored {
            contact_id: gone, ..
        },
    ) = (by_email, by_phone)
    else {
        panic!()
    };
    let merged = store
        .merge_contacts(keep, gone, crate::model::AgentId::new(), Utc::now())
        .await
        .unwrap();
    assert_eq!(merged.identities.len(), 2);
    assert!(
        merged
            .identities
            .iter()
            .any(|i| i.identity == phone && i.proven)
    );
    assert!(store.contact(gone).await.unwrap().is_none());
    let filter = ConversationFilter {
        contact: Some(keep),
        status: StatusFilter::All,
        ..Default::default()
    };
    let conversations = store
        .list_conversations(&filter, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(conversations.items.len(), 2);

    // The next message from the phone lands with the survivor.
    let later = store
        .route(&inbound("3", vec![(phone, true)], "c"), &policy)
        .await
        .unwrap();
    assert!(matches!(later, RouteOutcome::Stored { contact_id, .. } if contact_id == keep));
    assert!(
        store
            .merge_contacts(keep, keep, crate::model::AgentId::new(), Utc::now())
            .await
            .is_err()
    );
    assert!(
        store
            .merge_contacts(
                keep,
                ContactId::new(),
                crate::model::AgentId::new(),
                Utc::now()
            )
            .await
            .is_err()
    );
}

#[tokio::test]
async fn pages_of_conversations_follow_on_without_gaps_or_repeats() {
    let (_dir, store) = store();
    let policy = RoutePolicy::default();
    for i in 0..23 {
        store
            .route(
                &inbound(
                    &i.to_string(),
                    vec![(email(&format!("c{i}@example.com")), false)],
                    "hi",
                ),
                &policy,
            )
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(5);
    loop {
        let got = store
            .list_conversations(&ConversationFilter::default(), &page)
            .await
            .unwrap();
        seen.extend(got.items.iter().map(|c| c.id));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 23);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 23);
    let bad = PageRequest {
        limit: 5,
        cursor: Some("not-a-cursor".into()),
    };
    assert!(
        store
            .list_conversations(&ConversationFilter::default(), &bad)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_text_search_finds_persian_words() {
    let (_dir, store) = store();
    let policy = RoutePolicy::default();
    store
        .route(
            &inbound(
                "fa",
                vec![(email("a@example.com"), false)],
                "درگاه پرداخت کار نمی‌کند",
            ),
            &policy,
        )
        .await
        .unwrap();
    store
        .route(
            &inbound(
                "en",
                vec![(email("b@example.com"), false)],
                "my card was charged twice",
            ),
            &policy,
        )
        .await
        .unwrap();
    let find = |q: &str| ConversationFilter {
        query: Some(q.into()),
        ..Default::default()
    };
    assert_eq!(
        store
            .list_conversations(&find("پرداخت"), &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        store
            .list_conversations(&find("charged twice"), &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        store
            .list_conversations(&find("\"quoted"), &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        0
    );
}

#[tokio::test]
async fn messages_in_flight_when_a_process_died_are_handed_out_again_at_once() {
    let (_dir, store) = store();
    store
        .send(QueueName::Inbound, vec![enqueue("x")])
        .await
        .unwrap();
    let first = store
        .receive(QueueName::Inbound, 10, Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(store.recover_in_flight().await.unwrap(), 1);
    let again = store
        .receive(QueueName::Inbound, 10, Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].receive_count, 2);
    // The first receipt no longer acks anything.
    store
        .ack(QueueName::Inbound, &[first[0].receipt.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.recover_in_flight().await.unwrap(),
        1,
        "the message is still there"
    );
}

#[tokio::test]
async fn a_snoozed_conversation_wakes_when_its_time_comes_and_not_before() {
    let (_dir, store) = store();
    let RouteOutcome::Stored {
        conversation_id, ..
    } = store
        .route(
            &inbound("s", vec![(email("s@example.com"), false)], "hi"),
            &RoutePolicy::default(),
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    let c = store.conversation(conversation_id).await.unwrap().unwrap();
    let until = Utc::now() + chrono::Duration::hours(1);
    let snoozed = crate::model::Conversation {
        status: crate::model::ConversationStatus::Snoozed,
        snoozed_until: Some(until),
        ..c.clone()
    };
    store
        .save_conversation(&snoozed, c.version, &[])
        .await
        .unwrap();
    assert_eq!(
        crate::services::sweep::wake_snoozed(&store, Utc::now())
            .await
            .unwrap(),
        0
    );
    let later = until + chrono::Duration::seconds(1);
    assert_eq!(
        crate::services::sweep::wake_snoozed(&store, later)
            .await
            .unwrap(),
        1
    );
    let woken = store.conversation(conversation_id).await.unwrap().unwrap();
    assert_eq!(woken.status, crate::model::ConversationStatus::Open);
    assert_eq!(woken.snoozed_until, None);
}
