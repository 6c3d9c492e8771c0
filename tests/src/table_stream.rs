//! The table's change stream on the emulator, read as the event-log function's event
//! source mapping reads it: from the start of each shard, on from the last record
//! handed on, keeping only the records the template's filters let through.

use serde_json::{Value, json};
use std::collections::HashMap;

/// Where one test's reading of its table's stream got to.
pub struct TableStream {
    endpoint: String,
    table: String,
    /// The last sequence number read, per shard.
    read: HashMap<String, String>,
}

impl TableStream {
    pub fn new(endpoint: &str, table: &str) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            table: table.to_owned(),
            read: HashMap::new(),
        }
    }

    /// A DynamoDB Streams call (JSON 1.0), as the SDKs make it.
    async fn call(&self, action: &str, body: Value) -> Value {
        self.json_call(&format!("DynamoDBStreams_20120810.{action}"), body)
            .await
    }

    async fn json_call(&self, target: &str, body: Value) -> Value {
        json_call(&reqwest::Client::new(), &self.endpoint, target, body).await
    }

    /// The records written since the last call that pass the template's filters, in
    /// stream order, in batches of at most 100 (the mapping's `BatchSize`).
    pub async fn next_batches(&mut self) -> Vec<Vec<Value>> {
        let table = self
            .json_call(
                "DynamoDB_20120810.DescribeTable",
                json!({ "TableName": self.table }),
            )
            .await;
        let arn = table["Table"]["LatestStreamArn"]
            .as_str()
            .unwrap_or_else(|| panic!("the table has a stream: {table}"))
            .to_owned();
        let stream = self
            .call("DescribeStream", json!({ "StreamArn": arn }))
            .await;
        let shards = stream["StreamDescription"]["Shards"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut batches = Vec::new();
        for shard in shards {
            let shard_id = shard["ShardId"].as_str().expect("a shard id").to_owned();
            let request = match self.read.get(&shard_id) {
                Some(seq) => json!({"StreamArn": arn, "ShardId": shard_id,
                    "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": seq}),
                None => json!({"StreamArn": arn, "ShardId": shard_id,
                    "ShardIteratorType": "TRIM_HORIZON"}),
            };
            let mut iterator = self.call("GetShardIterator", request).await["ShardIterator"]
                .as_str()
                .map(str::to_owned);
            while let Some(it) = iterator.take() {
                let page = self
                    .call("GetRecords", json!({ "ShardIterator": it, "Limit": 100 }))
                    .await;
                let records = page["Records"].as_array().cloned().unwrap_or_default();
                let Some(last) = records.last() else {
                    break;
                };
                let seq = last["dynamodb"]["SequenceNumber"]
                    .as_str()
                    .expect("a sequence number")
                    .to_owned();
                self.read.insert(shard_id.clone(), seq);
                let passed: Vec<Value> = records.into_iter().filter(passes_filters).collect();
                if !passed.is_empty() {
                    batches.push(passed);
                }
                iterator = page["NextShardIterator"].as_str().map(str::to_owned);
            }
        }
        batches
    }
}

/// The template's `FilterCriteria` of the event-log function.
fn passes_filters(record: &Value) -> bool {
    let keys = &record["dynamodb"]["Keys"];
    let pk = keys["pk"]["S"].as_str().unwrap_or_default();
    let sk = keys["sk"]["S"].as_str().unwrap_or_default();
    let insert = record["eventName"] == "INSERT";
    sk.starts_with("TL#")
        || (insert && pk.starts_with("CT#") && sk == "#META")
        || (insert && pk == "ERASURES")
        || (insert && pk == "INCIDENTS")
}

/// A call of the JSON 1.0 protocol DynamoDB and its streams speak, to the emulator at
/// `endpoint` (which takes any signature), as the SDKs make it.
pub async fn json_call(
    client: &reqwest::Client,
    endpoint: &str,
    target: &str,
    body: Value,
) -> Value {
    let answer = client
        .post(format!("{endpoint}/"))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", target)
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
        .body(body.to_string())
        .send()
        .await
        .expect("the emulator answers");
    answer.json().await.expect("a JSON answer")
}
