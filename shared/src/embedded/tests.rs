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
            .map(|(identity, proven)| PresentedIdentity {
                identity,
                proven,
                links: false,
            })
            .collect(),
        text: text.into(),
        subject: None,
        thread: ThreadHint::None,
        customer_link: None,
        context: vec![],
        attachments: vec![],
        reply_to: None,
        edit_of: None,
        media_group: None,
        auto_reply: None,
        signal: None,
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

fn stored(
    outcome: RouteOutcome,
) -> (
    crate::model::MessageId,
    crate::model::ConversationId,
    ContactId,
) {
    match outcome {
        RouteOutcome::Stored {
            message_id,
            conversation_id,
            contact_id,
            ..
        } => (message_id, conversation_id, contact_id),
        other => panic!("expected stored, got {other:?}"),
    }
}

#[tokio::test]
async fn a_linking_phone_folds_the_senders_contact_into_its_holder_in_the_same_write() {
    let (_dir, store) = store();
    let policy = RoutePolicy::default();
    let phone = Identity::phone(&PhoneNumber::from_e164("+989123456789").unwrap());
    let (_, web_conversation, by_form) = stored(
        store
            .route(
                &inbound("form", vec![(phone.clone(), false)], "from the site"),
                &policy,
            )
            .await
            .unwrap(),
    );
    let (_, tg_conversation, on_telegram) = stored(
        store
            .route(
                &inbound("tg-1", vec![(Identity::telegram(42), true)], "hello"),
                &policy,
            )
            .await
            .unwrap(),
    );
    assert_ne!(by_form, on_telegram);
    let mut share = inbound(
        "tg-2",
        vec![(Identity::telegram(42), true), (phone.clone(), true)],
        "Contact: Sara, +989123456789",
    );
    share.identities[1].links = true;
    let (_, conversation, contact) = stored(store.route(&share, &policy).await.unwrap());
    assert_eq!(contact, by_form, "the holder survives");
    assert_eq!(conversation, tg_conversation);

    assert!(store.contact(on_telegram).await.unwrap().is_none());
    let merged = store.contact(by_form).await.unwrap().unwrap();
    let mut held: Vec<_> = merged
        .identities
        .iter()
        .map(|i| (i.identity.clone(), i.proven))
        .collect();
    held.sort_by_key(|(i, _)| i.key());
    assert_eq!(held, vec![(phone, true), (Identity::telegram(42), true)]);
    for id in [web_conversation, tg_conversation] {
        let c = store.conversation(id).await.unwrap().unwrap();
        assert_eq!(c.contact_id, by_form);
    }
    let timeline = store
        .timeline(tg_conversation, &PageRequest::first(100))
        .await
        .unwrap();
    let messages: Vec<_> = timeline
        .items
        .iter()
        .filter_map(|i| match i {
            crate::model::TimelineItem::Message(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| m.contact_id == by_form));
}

#[tokio::test]
async fn replies_and_edits_point_at_the_stored_original_and_albums_keep_their_key() {
    let (_dir, store) = store();
    let policy = RoutePolicy::default();
    let sender = || vec![(Identity::telegram(7), true)];
    let original = inbound("1:101", sender(), "first");
    let (first, conversation, _) = stored(store.route(&original, &policy).await.unwrap());
    let mut reply = inbound("1:102", sender(), "second");
    reply.reply_to = Some(original.source_id.clone());
    reply.media_group = Some("album".into());
    let mut edit = inbound("1:101:edit:5", sender(), "first, edited");
    edit.edit_of = Some(original.source_id.clone());
    let mut dangling = inbound("1:103", sender(), "to a message we never saw");
    dangling.reply_to = Some(SourceId::new("test", "nowhere"));
    for m in [&reply, &edit, &dangling] {
        store.route(m, &policy).await.unwrap();
    }
    let items = store
        .timeline(conversation, &PageRequest::first(100))
        .await
        .unwrap()
        .items;
    let find = |text: &str| {
        items
            .iter()
            .find_map(|i| match i {
                crate::model::TimelineItem::Message(m) if m.text == text => Some(m.clone()),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(find("second").reply_to, Some(first));
    assert_eq!(find("second").media_group.as_deref(), Some("album"));
    assert_eq!(find("first, edited").edit_of, Some(first));
    assert_eq!(find("first").text, "first", "the original is kept");
    assert_eq!(find("to a message we never saw").reply_to, None);
}

#[tokio::test]
async fn blocking_is_recorded_on_the_contact_and_its_conversation_once() {
    use crate::model::{EventKind, Reachability, TimelineItem};
    let (_dir, store) = store();
    let who = Identity::telegram(9_007_199_254_740_993);
    let at = Utc::now();
    assert_eq!(
        store
            .set_reachability(&who, Channel::Telegram, Reachability::Blocked, at)
            .await
            .unwrap(),
        None,
        "nobody to record it on"
    );
    let (_, conversation, contact) = stored(
        store
            .route(
                &inbound("b:1", vec![(who.clone(), true)], "hi"),
                &RoutePolicy::default(),
            )
            .await
            .unwrap(),
    );
    for _ in 0..2 {
        let recorded = store
            .set_reachability(&who, Channel::Telegram, Reachability::Blocked, at)
            .await
            .unwrap();
        assert_eq!(recorded, Some(contact));
    }
    let blocked = store.contact(contact).await.unwrap().unwrap();
    assert_eq!(blocked.blocked_channels, vec![Channel::Telegram]);
    store
        .set_reachability(&who, Channel::Telegram, Reachability::Unblocked, at)
        .await
        .unwrap();
    assert!(
        store
            .contact(contact)
            .await
            .unwrap()
            .unwrap()
            .blocked_channels
            .is_empty()
    );
    let kinds: Vec<_> = store
        .timeline(conversation, &PageRequest::first(100))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|i| match i {
            TimelineItem::Event(e) => Some(e.kind),
            _ => None,
        })
        .filter(|k| !matches!(k, EventKind::Created))
        .collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::ChannelBlocked {
                channel: Channel::Telegram
            },
            EventKind::ChannelUnblocked {
                channel: Channel::Telegram
            },
        ],
        "a repeated block records nothing new"
    );
}
