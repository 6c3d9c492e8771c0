//! What only the embedded adapters do (recovery at start, the text search), against a
//! real SQLite file. The store and queue contracts both backends share are in
//! `shared/tests/conformance`.

use super::Embedded;
use crate::model::{Channel, EmailAddress, Identity, InboundMessage, PresentedIdentity, SourceId};
use crate::ports::{
    ConversationFilter, ConversationStore, Enqueue, PageRequest, Queue, QueueName, RoutingStore,
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
        identities: identities
            .into_iter()
            .map(|(identity, proven)| {
                if proven {
                    PresentedIdentity::proven(identity)
                } else {
                    PresentedIdentity::claimed(identity)
                }
            })
            .collect(),
        text: text.into(),
        ..InboundMessage::new(SourceId::new("test", source), Channel::Email, Utc::now())
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

/// Conversations whose messages hold `word`, by the text search.
async fn found(store: &Embedded, word: &str) -> usize {
    let filter = ConversationFilter {
        query: Some(word.into()),
        ..Default::default()
    };
    store
        .list_conversations(&filter, &PageRequest::first(10))
        .await
        .unwrap()
        .items
        .len()
}

#[tokio::test]
async fn a_store_from_before_the_pending_search_rows_is_found_and_erased_alike_after_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let policy = RoutePolicy::default();
    {
        let store = Embedded::open(&path).unwrap();
        for (source, address, text) in [
            ("a", "a@example.com", "the gateway declined my card"),
            ("b", "b@example.com", "where is parcel 4411"),
        ] {
            store
                .route(
                    &inbound(source, vec![(email(address), false)], text),
                    &policy,
                )
                .await
                .unwrap();
        }
    }
    // The layout before migration 23: the search rows keyed apart from their messages
    // own rowids (as erasures left them), each message holding its row's key; and none
    // of the later tables.
    std::thread::sleep(Duration::from_millis(200));
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn.execute_batch(
            "DROP TRIGGER message_unsearchable;
             DROP TRIGGER message_moves_in_search;
             DROP TABLE search_pending;
             DELETE FROM sqlite_sequence WHERE name = 'search_pending';
             DROP INDEX identities_by_rank;
             DELETE FROM conversation_search;
             INSERT INTO conversation_search (rowid, conversation_id, body)
                 SELECT rowid + 1000, conversation_id, text FROM messages;
             UPDATE messages SET search_rowid = rowid + 1000;
             DROP TABLE agent_credentials;
             DROP TABLE sessions;
             DROP TABLE articles;
             DROP TABLE article_revisions;
             DROP TABLE knowledge_counts;
             ALTER TABLE teams DROP COLUMN bot_answers_first;
             PRAGMA user_version = 22;",
        )
        .unwrap();
    }
    let store = Embedded::open(&path).unwrap();
    assert_eq!(found(&store, "gateway").await, 1);
    assert_eq!(found(&store, "parcel").await, 1);
    // A message stored after the upgrade is found beside them.
    store
        .route(
            &inbound("c", vec![(email("c@example.com"), false)], "gateway again"),
            &policy,
        )
        .await
        .unwrap();
    assert_eq!(found(&store, "gateway").await, 2);
    // Erasing a conversation takes its words out of the index.
    let parcel = store
        .list_conversations(
            &ConversationFilter {
                query: Some("parcel".into()),
                ..Default::default()
            },
            &PageRequest::first(1),
        )
        .await
        .unwrap()
        .items[0]
        .id;
    let path_for_check = path.clone();
    store
        .db
        .write(move |conn| {
            conn.execute(
                "DELETE FROM messages WHERE conversation_id = ?1",
                [parcel.to_string()],
            )
            .map_err(super::db::sql)?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(found(&store, "parcel").await, 0);
    let conn = rusqlite::Connection::open(&path_for_check).unwrap();
    let (indexed, pending): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM conversation_search), (SELECT count(*) FROM search_pending)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (indexed, pending),
        (2, 0),
        "each message once in the index, none left waiting"
    );
}

#[tokio::test]
async fn a_folded_conversations_words_are_found_in_the_one_it_joined() {
    let (_dir, store) = store();
    let policy = RoutePolicy::default();
    let mut ids = Vec::new();
    for (source, address, text) in [
        ("a", "a@example.com", "the parcel went missing"),
        ("b", "b@example.com", "one more question"),
    ] {
        let routed = store
            .route(
                &inbound(source, vec![(email(address), false)], text),
                &policy,
            )
            .await
            .unwrap();
        let crate::ports::RouteOutcome::Stored {
            conversation_id, ..
        } = routed
        else {
            panic!("not stored: {routed:?}");
        };
        ids.push(conversation_id);
    }
    let from = store.conversation(ids[0]).await.unwrap().unwrap();
    let into = store.conversation(ids[1]).await.unwrap().unwrap();
    let now = Utc::now();
    let event = crate::model::Event::new(
        into.id,
        crate::model::EventKind::ConversationFolded { from: from.id },
        None,
        now,
    );
    store
        .fold_conversation(&from, &into.absorbing(&from, now), into.version, &event)
        .await
        .unwrap();
    let filter = ConversationFilter {
        query: Some("parcel".into()),
        ..Default::default()
    };
    let found = store
        .list_conversations(&filter, &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(
        found.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![into.id],
        "the words moved with their message"
    );
}
