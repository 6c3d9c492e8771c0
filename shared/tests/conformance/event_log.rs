//! The event log's contract, on SQLite (triggers, a sequence) and on DynamoDB (the
//! table's stream on moto, read as Lambda's event source mapping would hand it to the
//! event-log function, kept as feed pages).

use crate::backends::{endpoint, sdk_config};
use crate::store::{email, inbound, now, phone, route};
use async_trait::async_trait;
use shared::aws::{DynamoStore, FEED_SETTLE, StreamBatch, create_table};
use shared::backend::Store;
use shared::embedded::Embedded;
use shared::model::{
    AgentId, Author, Change, ChangeType, Channel, ConversationId, ConversationStatus,
    DeliveryStatus, Event, EventKind, Message, Note, NoteId, Reachability,
};
use shared::ports::PortError;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tempfile::TempDir;

on_both_backends!(
    embedded: crate::event_log::embedded,
    aws: crate::event_log::dynamo,
    tests: [
        the_log_tells_each_change_once_in_order_per_conversation,
        a_reader_resumes_from_its_saved_cursor_after_a_restart,
        a_cursor_the_log_did_not_issue_is_refused,
        a_merge_a_fold_and_a_block_log_their_own_news_and_move_nothing_twice,
    ]
);

/// A store whose log a test reads.
#[async_trait]
pub trait Logged: Send + Sync {
    fn store(&self) -> &dyn Store;
    /// Makes every change so far readable in the log.
    async fn settle(&self);
    /// The same data opened anew, as after a restart.
    async fn reopened(&self) -> Box<dyn Store>;
}

pub struct Subject {
    logged: Box<dyn Logged>,
}

impl Subject {
    pub fn port(&self) -> &dyn Logged {
        self.logged.as_ref()
    }
}

struct EmbeddedLog {
    store: Embedded,
    path: PathBuf,
    _dir: TempDir,
}

#[async_trait]
impl Logged for EmbeddedLog {
    fn store(&self) -> &dyn Store {
        &self.store
    }

    async fn settle(&self) {}

    async fn reopened(&self) -> Box<dyn Store> {
        Box::new(Embedded::open(&self.path).unwrap())
    }
}

pub async fn embedded() -> Subject {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    Subject {
        logged: Box::new(EmbeddedLog {
            store: Embedded::open(&path).unwrap(),
            path,
            _dir: dir,
        }),
    }
}

/// The table's stream, read from its start by the DynamoDB Streams API (JSON 1.0) at
/// moto, as the event source mapping reads it.
struct DynamoLog {
    store: Arc<DynamoStore>,
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// The last sequence number handed on, per shard.
    read: Mutex<HashMap<String, String>>,
}

impl DynamoLog {
    async fn streams(&self, action: &str, body: serde_json::Value) -> serde_json::Value {
        reqwest::Client::new()
            .post(format!("{}/", endpoint()))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("DynamoDBStreams_20120810.{action}"))
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

#[async_trait]
impl Logged for DynamoLog {
    fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    async fn settle(&self) {
        let table = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .unwrap();
        let arn = table
            .table()
            .unwrap()
            .latest_stream_arn()
            .unwrap()
            .to_owned();
        let stream = self
            .streams("DescribeStream", serde_json::json!({ "StreamArn": arn }))
            .await;
        let shards = stream["StreamDescription"]["Shards"]
            .as_array()
            .unwrap()
            .clone();
        for shard in shards {
            let shard_id = shard["ShardId"].as_str().unwrap().to_owned();
            let last = self.read.lock().unwrap().get(&shard_id).cloned();
            let request = match &last {
                Some(seq) => serde_json::json!({"StreamArn": arn, "ShardId": shard_id,
                    "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": seq}),
                None => serde_json::json!({"StreamArn": arn, "ShardId": shard_id,
                    "ShardIteratorType": "TRIM_HORIZON"}),
            };
            let iterator = self.streams("GetShardIterator", request).await;
            let mut iterator = iterator["ShardIterator"].as_str().map(str::to_owned);
            while let Some(it) = iterator.take() {
                let page = self
                    .streams(
                        "GetRecords",
                        serde_json::json!({ "ShardIterator": it, "Limit": 100 }),
                    )
                    .await;
                let records = page["Records"].as_array().cloned().unwrap_or_default();
                if records.is_empty() {
                    break;
                }
                let seq = records.last().unwrap()["dynamodb"]["SequenceNumber"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let batch: StreamBatch =
                    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap();
                self.store.append_stream_batch(&batch).await.unwrap();
                self.read.lock().unwrap().insert(shard_id.clone(), seq);
                iterator = page["NextShardIterator"].as_str().map(str::to_owned);
            }
        }
        // Readers read pages once they are this old.
        tokio::time::sleep(
            (FEED_SETTLE + chrono::TimeDelta::milliseconds(100))
                .to_std()
                .unwrap(),
        )
        .await;
    }

    async fn reopened(&self) -> Box<dyn Store> {
        let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
        Box::new(DynamoStore::new(client, self.table.clone()))
    }
}

pub async fn dynamo() -> Subject {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let table = format!("sb-{}", ulid::Ulid::new().to_string().to_lowercase());
    create_table(&client, &table).await.unwrap();
    Subject {
        logged: Box::new(DynamoLog {
            store: Arc::new(DynamoStore::new(client.clone(), table.clone())),
            client,
            table,
            read: Mutex::new(HashMap::new()),
        }),
    }
}

/// Everything in the log after `after`, read three at a time, each read from the last
/// entry's cursor.
async fn read_all(store: &dyn Store, after: Option<String>) -> Vec<Change> {
    let mut all: Vec<Change> = Vec::new();
    let mut cursor = after;
    loop {
        let page = store.changes_after(cursor.as_deref(), 3).await.unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else {
            return all;
        };
        cursor = Some(last.cursor.clone());
        all.extend(page);
    }
}

fn kinds(changes: &[&Change]) -> Vec<ChangeType> {
    changes.iter().map(|c| c.kind).collect()
}

async fn the_log_tells_each_change_once_in_order_per_conversation(log: &dyn Logged) {
    let store = log.store();
    let agent = AgentId::new();
    let r = route(
        store,
        &inbound(
            "log-1",
            vec![(email("log@example.com"), false)],
            "Card declined",
        ),
    )
    .await;
    let note = Note {
        id: NoteId::new(),
        conversation_id: r.conversation,
        author_id: agent,
        text: "bank outage?".into(),
        created_at: now(),
    };
    store.add_note(&note).await.unwrap();
    // A note reads back by its id, and only in its own conversation.
    assert_eq!(
        store.note(r.conversation, note.id).await.unwrap(),
        Some(note.clone())
    );
    assert_eq!(
        store.note(ConversationId::new(), note.id).await.unwrap(),
        None
    );
    let c = store.conversation(r.conversation).await.unwrap().unwrap();
    let assign = Event::new(
        c.id,
        EventKind::Assigned {
            from: None,
            to: Some(agent),
        },
        Some(agent),
        now(),
    );
    let c = store
        .save_conversation(
            &shared::model::Conversation {
                assignee_id: Some(agent),
                ..c.clone()
            },
            c.version,
            std::slice::from_ref(&assign),
        )
        .await
        .unwrap();
    let reply = Message {
        author: Author::Agent { agent_id: agent },
        ..crate::rights::reply(r.conversation, r.contact, "Try again now")
    };
    store.add_outbound(&reply).await.unwrap();
    store
        .set_delivery_status(reply.id, DeliveryStatus::Sent, None, Some("prov-1"))
        .await
        .unwrap();
    assert!(
        store
            .settle_delivery(reply.id, DeliveryStatus::Delivered, None)
            .await
            .unwrap()
    );
    let c = store.conversation(c.id).await.unwrap().unwrap();
    let resolve = Event::new(
        c.id,
        EventKind::StatusChanged {
            from: ConversationStatus::Open,
            to: ConversationStatus::Resolved,
        },
        Some(agent),
        now(),
    );
    store
        .save_conversation(
            &shared::model::Conversation {
                status: ConversationStatus::Resolved,
                ..c.clone()
            },
            c.version,
            std::slice::from_ref(&resolve),
        )
        .await
        .unwrap();
    log.settle().await;

    let all = read_all(store, None).await;
    let mut ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "every entry once: {all:#?}");

    let created: Vec<&Change> = all
        .iter()
        .filter(|c| c.kind == ChangeType::ContactCreated)
        .collect();
    assert_eq!(created.len(), 1, "{all:#?}");
    assert_eq!(created[0].contact_id, Some(r.contact));

    let of_conversation: Vec<&Change> = all
        .iter()
        .filter(|c| c.conversation_id == Some(r.conversation))
        .collect();
    assert_eq!(of_conversation.len() + 1, all.len(), "{all:#?}");
    // The first message and the conversation it made are one write: either order.
    let mut first_two = kinds(&of_conversation[..2]);
    first_two.sort_by_key(|k| k.as_str());
    assert_eq!(
        first_two,
        [ChangeType::ConversationCreated, ChangeType::MessageReceived]
    );
    assert_eq!(
        kinds(&of_conversation[2..]),
        [
            ChangeType::NoteAdded,
            ChangeType::ConversationAssigned,
            ChangeType::ReplyQueued,
            ChangeType::ReplySent,
            ChangeType::ReplyDelivered,
            ChangeType::ConversationStatusChanged,
        ]
    );
    let by_kind = |kind| *of_conversation.iter().find(|c| c.kind == kind).unwrap();
    let received = by_kind(ChangeType::MessageReceived);
    assert_eq!(received.message_id, Some(r.message));
    assert_eq!(received.contact_id, Some(r.contact));
    assert_eq!(received.actor_id, None);
    assert_eq!(by_kind(ChangeType::NoteAdded).note_id, Some(note.id));
    assert_eq!(by_kind(ChangeType::NoteAdded).actor_id, Some(agent));
    let assigned = by_kind(ChangeType::ConversationAssigned);
    assert_eq!(assigned.event_id, Some(assign.id));
    assert_eq!(assigned.actor_id, Some(agent));
    assert_eq!(assigned.at, assign.created_at);
    for kind in [
        ChangeType::ReplyQueued,
        ChangeType::ReplySent,
        ChangeType::ReplyDelivered,
    ] {
        assert_eq!(by_kind(kind).message_id, Some(reply.id), "{kind}");
    }
    assert_eq!(by_kind(ChangeType::ReplyQueued).actor_id, Some(agent));
    assert_eq!(
        by_kind(ChangeType::ConversationStatusChanged).event_id,
        Some(resolve.id)
    );

    // Each cursor reads on from its entry, and after the last there is nothing.
    let third = &all[2];
    let rest = read_all(store, Some(third.cursor.clone())).await;
    assert_eq!(rest, all[3..].to_vec());
    let latest = store.latest_cursor().await.unwrap();
    assert!(
        store
            .changes_after(Some(&latest), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_reader_resumes_from_its_saved_cursor_after_a_restart(log: &dyn Logged) {
    let store = log.store();
    route(
        store,
        &inbound("resume-1", vec![(email("first@example.com"), false)], "one"),
    )
    .await;
    log.settle().await;
    let seen = read_all(store, None).await;
    assert_eq!(seen.len(), 3, "{seen:#?}");
    let position = seen.last().unwrap().cursor.clone();
    assert_eq!(store.consumer_position("webhooks").await.unwrap(), None);
    store
        .save_consumer_position("webhooks", &position)
        .await
        .unwrap();

    let reopened = log.reopened().await;
    let second = route(
        reopened.as_ref(),
        &inbound(
            "resume-2",
            vec![(email("second@example.com"), false)],
            "two",
        ),
    )
    .await;
    log.settle().await;
    let saved = reopened.consumer_position("webhooks").await.unwrap();
    assert_eq!(saved.as_deref(), Some(position.as_str()));
    let next = read_all(reopened.as_ref(), saved).await;
    let mut kinds: Vec<ChangeType> = next.iter().map(|c| c.kind).collect();
    kinds.sort_by_key(|k| k.as_str());
    assert_eq!(
        kinds,
        [
            ChangeType::ContactCreated,
            ChangeType::ConversationCreated,
            ChangeType::MessageReceived
        ],
        "only the second message's changes, none of the first's again: {next:#?}"
    );
    let received = next
        .iter()
        .find(|c| c.kind == ChangeType::MessageReceived)
        .unwrap();
    assert_eq!(received.message_id, Some(second.message));
    assert!(next.iter().all(|c| !seen.iter().any(|s| s.id == c.id)));
}

async fn a_cursor_the_log_did_not_issue_is_refused(log: &dyn Logged) {
    for bad in ["nonsense", "-1", "1-2-3-4"] {
        let refused = log.store().changes_after(Some(bad), 10).await;
        assert!(
            matches!(refused, Err(PortError::Invalid(_))),
            "{bad}: {refused:?}"
        );
        let refused = log.store().save_consumer_position("x", bad).await;
        assert!(
            matches!(refused, Err(PortError::Invalid(_))),
            "{bad}: {refused:?}"
        );
    }
}

async fn a_merge_a_fold_and_a_block_log_their_own_news_and_move_nothing_twice(log: &dyn Logged) {
    let store = log.store();
    let number = phone("+989123450077");
    let keep = route(
        store,
        &inbound("mf-1", vec![(email("mf@example.com"), false)], "by email"),
    )
    .await;
    let gone = route(
        store,
        &inbound("mf-2", vec![(number.clone(), true)], "by sms"),
    )
    .await;
    log.settle().await;
    let before = read_all(store, None).await;
    let after = before.last().unwrap().cursor.clone();

    let agent = AgentId::new();
    store
        .merge_contacts(keep.contact, gone.contact, agent, now())
        .await
        .unwrap();
    let from = store
        .conversation(gone.conversation)
        .await
        .unwrap()
        .unwrap();
    let into = store
        .conversation(keep.conversation)
        .await
        .unwrap()
        .unwrap();
    let fold = Event::new(
        into.id,
        EventKind::ConversationFolded { from: from.id },
        Some(agent),
        now(),
    );
    store
        .fold_conversation(&from, &into.absorbing(&from, now()), into.version, &fold)
        .await
        .unwrap();
    let blocked = store
        .set_reachability(&number, Channel::Sms, Reachability::Blocked, now())
        .await
        .unwrap();
    assert_eq!(blocked, Some(keep.contact));
    log.settle().await;

    let news = read_all(store, Some(after)).await;
    let mut kinds: Vec<&str> = news.iter().map(|c| c.kind.as_str()).collect();
    kinds.sort();
    // A merge tells each of the absorbed contact's conversations; the fold and the block
    // tell theirs once; the messages the fold moved are not news again.
    assert!(
        !kinds.contains(&"message.received") && !kinds.contains(&"contact.created"),
        "{news:#?}"
    );
    assert!(kinds.contains(&"contact.merged"), "{news:#?}");
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "conversation.folded")
            .count(),
        1,
        "{news:#?}"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "contact.channel_blocked")
            .count(),
        1,
        "{news:#?}"
    );
    let folded = news
        .iter()
        .find(|c| c.kind == ChangeType::ConversationFolded)
        .unwrap();
    assert_eq!(folded.conversation_id, Some(keep.conversation));
    assert_eq!(folded.event_id, Some(fold.id));
    assert_eq!(folded.actor_id, Some(agent));
}
