//! Fresh adapters for one test: an `Embedded` on a temp file and a blob folder in a temp
//! dir, or a `DynamoStore`, `SqsQueue` and `S3Blobs` on moto with a table, queues and a
//! bucket of their own.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sqs::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_sqs::types::QueueAttributeName;
use shared::aws::{
    DynamoStore, HttpsClient, S3Blobs, SignedRequests, SqsQueue, SqsQueueUrls, create_table,
};
use shared::backend::Store;
use shared::embedded::{BlobFolder, Embedded};
use shared::ports::{BlobStore, Queue, QueueName, SendOnce};
use shared::services::ingest::KeyThenSend;
use shared::services::rights::Rights;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tempfile::TempDir;

const ENDPOINT_VAR: &str = "SWITCHBOARD_TEST_AWS_ENDPOINT";

/// A port under test, with whatever must live as long as it (its temp dir).
pub struct Subject<P: ?Sized> {
    port: Box<P>,
    _dir: Option<TempDir>,
}

impl<P: ?Sized> Subject<P> {
    pub fn port(&self) -> &P {
        &self.port
    }
}

pub async fn embedded_queue() -> Subject<dyn Queue> {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(&dir.path().join("conformance.db")).unwrap();
    Subject {
        port: Box::new(store),
        _dir: Some(dir),
    }
}

pub async fn blob_folder() -> Subject<dyn BlobStore> {
    let dir = tempfile::tempdir().unwrap();
    Subject {
        port: Box::new(BlobFolder::new(dir.path().join("blobs"))),
        _dir: Some(dir),
    }
}

/// Where moto listens; a test that needs it fails without it.
pub fn endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VAR} is not set, so there is no AWS emulator to test against: \
             run through scripts/with-moto or scripts/test"
        )
    })
}

/// The product's own signed requests (S3 objects, SSM parameters), at moto.
pub fn signed_requests() -> SignedRequests {
    signed_requests_at(&endpoint(), "testing", "testing")
}

/// Signed requests to `endpoint` with one access key.
pub fn signed_requests_at(endpoint: &str, key_id: &str, secret: &str) -> SignedRequests {
    SignedRequests::new(
        HttpsClient::new().expect("root certificates"),
        SharedCredentialsProvider::new(Credentials::new(key_id, secret, None, None, "test")),
        "us-east-1",
        Some(endpoint.to_owned()),
    )
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// A name no other test uses: queues and buckets outlive a test on the shared moto.
fn unique_name() -> String {
    format!("sb-{}", ulid::Ulid::new().to_string().to_lowercase())
}

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: String,
    mut attributes: HashMap<QueueAttributeName, String>,
    dead_letters_to: Option<(&str, QueueName)>,
) -> String {
    if name.ends_with(".fifo") {
        attributes.insert(QueueAttributeName::FifoQueue, "true".into());
    }
    if let Some((dlq_url, queue)) = dead_letters_to {
        let dlq = client
            .get_queue_attributes()
            .queue_url(dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let arn = &dlq.attributes().unwrap()[&QueueAttributeName::QueueArn];
        let policy = serde_json::json!({
            "deadLetterTargetArn": arn,
            "maxReceiveCount": queue.max_receives().to_string(),
        });
        attributes.insert(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned()
}

/// The queues as the SAM template makes them: inbound and webhooks FIFO, outbound
/// standard, each redriving to its DLQ after its `max_receives`.
pub async fn sqs_queue() -> Subject<dyn Queue> {
    let client = aws_sdk_sqs::Client::new(&sdk_config().await);
    let name = unique_name();
    let no_attributes = HashMap::new;
    let inbound_dlq = create_queue(
        &client,
        format!("{name}-inbound-dlq.fifo"),
        no_attributes(),
        None,
    )
    .await;
    let inbound = create_queue(
        &client,
        format!("{name}-inbound.fifo"),
        no_attributes(),
        Some((&inbound_dlq, QueueName::Inbound)),
    )
    .await;
    let outbound_dlq = create_queue(
        &client,
        format!("{name}-outbound-dlq"),
        no_attributes(),
        None,
    )
    .await;
    let outbound = create_queue(
        &client,
        format!("{name}-outbound"),
        no_attributes(),
        Some((&outbound_dlq, QueueName::Outbound)),
    )
    .await;
    let webhooks_dlq = create_queue(
        &client,
        format!("{name}-webhooks-dlq.fifo"),
        no_attributes(),
        None,
    )
    .await;
    let webhooks = create_queue(
        &client,
        format!("{name}-webhooks.fifo"),
        no_attributes(),
        Some((&webhooks_dlq, QueueName::Webhooks)),
    )
    .await;
    let urls = SqsQueueUrls {
        inbound,
        inbound_dlq,
        outbound,
        outbound_dlq,
        webhooks,
        webhooks_dlq,
    };
    Subject {
        port: Box::new(SqsQueue::new(signed_requests(), urls)),
        _dir: None,
    }
}

pub async fn s3_blobs() -> Subject<dyn BlobStore> {
    let config = aws_sdk_s3::config::Builder::from(&sdk_config().await)
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let bucket = unique_name();
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    Subject {
        port: Box::new(S3Blobs::new(signed_requests(), bucket)),
        _dir: None,
    }
}

pub async fn embedded_store() -> Subject<dyn Store> {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(&dir.path().join("conformance.db")).unwrap();
    Subject {
        port: Box::new(store),
        _dir: Some(dir),
    }
}

/// A table of its own, made as the SAM template makes it.
pub async fn dynamo_store() -> Subject<dyn Store> {
    Subject {
        port: dynamo_store_itself().await,
        _dir: None,
    }
}

async fn dynamo_store_itself() -> Box<DynamoStore> {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let table = unique_name();
    create_table(&client, &table).await.unwrap();
    Box::new(DynamoStore::new(client, table))
}

/// Keyed submissions and the queue they go on.
pub struct Submissions {
    pub once: Arc<dyn SendOnce>,
    pub queue: Arc<dyn Queue>,
}

/// The embedded store's: the key held and the message queued in one transaction.
pub async fn embedded_submissions() -> Subject<Submissions> {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(&dir.path().join("conformance.db")).unwrap();
    Subject {
        port: Box::new(Submissions {
            once: Arc::new(store.clone()),
            queue: Arc::new(store),
        }),
        _dir: Some(dir),
    }
}

/// AWS's: the key held in DynamoDB, then the message sent on SQS.
pub async fn aws_submissions() -> Subject<Submissions> {
    let store: Arc<DynamoStore> = Arc::new(*dynamo_store_itself().await);
    let queue: Arc<dyn Queue> = Arc::from(sqs_queue().await.port);
    Subject {
        port: Box::new(Submissions {
            once: Arc::new(KeyThenSend {
                keys: store,
                queue: queue.clone(),
            }),
            queue,
        }),
        _dir: None,
    }
}

/// A store and a blob store of one backend, the rights service over both, and a view of
/// every row, item and file they hold.
pub struct Held {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub rights: Rights,
    raw: Raw,
}

enum Raw {
    Sqlite {
        db: PathBuf,
        blobs: PathBuf,
    },
    Aws {
        dynamodb: aws_sdk_dynamodb::Client,
        table: String,
        s3: aws_sdk_s3::Client,
        bucket: String,
    },
}

impl Held {
    /// Every row (SQLite, the search index's own tables too) or item (DynamoDB), one
    /// line each as `<table or partition>: <values>`, then every file (`file: <key>`).
    /// Test code may scan what a request path never would.
    pub async fn everything(&self) -> Vec<String> {
        match &self.raw {
            Raw::Sqlite { db, blobs } => {
                let mut lines = sqlite_rows(db);
                lines.extend(files_under(blobs, blobs));
                lines
            }
            Raw::Aws {
                dynamodb,
                table,
                s3,
                bucket,
            } => {
                let mut lines = Vec::new();
                let mut start = None;
                loop {
                    let out = dynamodb
                        .scan()
                        .table_name(table)
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .unwrap();
                    for item in out.items() {
                        let pk = match item.get("pk") {
                            Some(aws_sdk_dynamodb::types::AttributeValue::S(pk)) => pk.clone(),
                            _ => String::new(),
                        };
                        lines.push(format!("{pk}: {item:?}"));
                    }
                    start = out.last_evaluated_key;
                    if start.is_none() {
                        break;
                    }
                }
                let listed = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
                for object in listed.contents() {
                    lines.push(format!("file: {}", object.key().unwrap_or_default()));
                }
                lines
            }
        }
    }
}

fn sqlite_rows(db: &std::path::Path) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut lines = Vec::new();
    for table in tables {
        let mut statement = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = statement.column_count();
        let rows = statement
            .query_map([], |row| {
                let values: Vec<String> = (0..columns)
                    .map(|i| match row.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Null => "null".to_owned(),
                        rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                        rusqlite::types::ValueRef::Real(n) => n.to_string(),
                        rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                    })
                    .collect();
                Ok(values.join(" | "))
            })
            .unwrap();
        for row in rows {
            lines.push(format!("{table}: {}", row.unwrap()));
        }
    }
    lines
}

fn files_under(root: &std::path::Path, dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let key = path.strip_prefix(root).unwrap().display().to_string();
        if path.is_dir() {
            lines.push(format!("file: {key}/"));
            lines.extend(files_under(root, &path));
        } else {
            lines.push(format!("file: {key}"));
        }
    }
    lines
}

pub async fn embedded_held() -> Subject<Held> {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("conformance.db");
    let blob_dir = dir.path().join("blobs");
    let store = Arc::new(Embedded::open(&db).unwrap());
    let blobs: Arc<dyn BlobStore> = Arc::new(BlobFolder::new(&blob_dir));
    Subject {
        port: Box::new(Held {
            rights: Rights::new(store.clone(), blobs.clone()),
            store,
            blobs,
            raw: Raw::Sqlite {
                db,
                blobs: blob_dir,
            },
        }),
        _dir: Some(dir),
    }
}

pub async fn aws_held() -> Subject<Held> {
    let config = sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let table = unique_name();
    create_table(&dynamodb, &table).await.unwrap();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let bucket = unique_name();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let store = Arc::new(DynamoStore::new(dynamodb.clone(), table.clone()));
    let blobs: Arc<dyn BlobStore> = Arc::new(S3Blobs::new(signed_requests(), bucket.clone()));
    Subject {
        port: Box::new(Held {
            rights: Rights::new(store.clone(), blobs.clone()),
            store,
            blobs,
            raw: Raw::Aws {
                dynamodb,
                table,
                s3,
                bucket,
            },
        }),
        _dir: None,
    }
}
