//! A relay in front of the emulator that prices every DynamoDB write the way on-demand
//! DynamoDB bills it, which the emulator does not: it reads each item a write touches
//! just before and just after the write, and counts
//!
//! - the write itself: one write unit per started KB of the larger of the item before
//!   and after, twice that inside a transaction (a condition check too);
//! - each global secondary index the item is in, before or after: one unit per started
//!   KB of the index entry (the item, all attributes projected, and 100 bytes) for an
//!   entry put or changed, a delete and a put when its keys changed.
//!
//! Everything else (SQS, S3, SSM, reads) is relayed untouched. Figures, not a test of
//! DynamoDB: a write that fails its condition is relayed, counted as refused, and not
//! priced; unprocessed items of a batch write are priced as if written.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// The table's secondary indexes, by their key attributes, as the template declares them.
const INDEXES: [(&str, &str); 3] = [
    ("gsi1pk", "gsi1sk"),
    ("gsi2pk", "gsi2sk"),
    ("gsi3pk", "gsi3sk"),
];

/// What the writes so far cost, in write units.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteUnits {
    /// The table's own writes (transactions counted twice).
    pub table: u64,
    /// The index entries those writes put, changed or deleted.
    pub indexes: u64,
    /// Both, by the kind of item: its partition and sort key prefixes (`CV#/#META`).
    pub by_item: BTreeMap<String, u64>,
    /// Write requests relayed (a transaction is one).
    pub requests: u64,
    /// Write requests the emulator refused (a failed condition, a cancelled
    /// transaction): DynamoDB bills some of these, and they are not priced here.
    pub refused: u64,
}

impl WriteUnits {
    pub fn total(&self) -> u64 {
        self.table + self.indexes
    }

    /// Adds `more` to these.
    pub fn add(&mut self, more: WriteUnits) {
        self.table += more.table;
        self.indexes += more.indexes;
        self.requests += more.requests;
        self.refused += more.refused;
        for (kind, units) in more.by_item {
            *self.by_item.entry(kind).or_default() += units;
        }
    }

    /// What was spent since `earlier`.
    pub fn since(&self, earlier: &WriteUnits) -> WriteUnits {
        let mut by_item = self.by_item.clone();
        for (kind, units) in &earlier.by_item {
            if let Some(now) = by_item.get_mut(kind) {
                *now -= units;
            }
        }
        by_item.retain(|_, units| *units > 0);
        WriteUnits {
            table: self.table - earlier.table,
            indexes: self.indexes - earlier.indexes,
            by_item,
            requests: self.requests - earlier.requests,
            refused: self.refused - earlier.refused,
        }
    }
}

impl std::fmt::Display for WriteUnits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} WRU (table {}, indexes {}) in {} requests:",
            self.total(),
            self.table,
            self.indexes,
            self.requests
        )?;
        for (kind, units) in &self.by_item {
            write!(f, " {kind} {units};")?;
        }
        Ok(())
    }
}

#[derive(Clone)]
struct Relay {
    upstream: String,
    client: reqwest::Client,
    units: Arc<Mutex<WriteUnits>>,
}

/// The relay; it stops when dropped.
pub struct WriteMeter {
    addr: SocketAddr,
    units: Arc<Mutex<WriteUnits>>,
    serving: JoinHandle<()>,
}

impl WriteMeter {
    /// Starts relaying a free loopback port to `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> WriteMeter {
        let units = Arc::new(Mutex::new(WriteUnits::default()));
        let relay = Relay {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            units: units.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let app = axum::Router::new()
            .fallback(relay_request)
            .with_state(relay);
        let serving = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WriteMeter {
            addr,
            units,
            serving,
        }
    }

    /// Where functions send their AWS calls instead of the emulator.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What the writes relayed so far cost.
    pub fn units(&self) -> WriteUnits {
        crate::lock(&self.units).clone()
    }
}

impl Drop for WriteMeter {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

/// One item a write request touches.
struct Touch {
    table: String,
    key: Value,
    /// In a transaction: billed twice.
    transactional: bool,
    /// A condition check: read, not written.
    check: bool,
}

async fn relay_request(
    State(relay): State<Relay>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap, Bytes) {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let touches = target
        .strip_prefix("DynamoDB_20120810.")
        .and_then(|action| {
            let body: Value = serde_json::from_slice(&body).ok()?;
            Some(touches(action, &body))
        })
        .unwrap_or_default();
    let mut before = Vec::new();
    for touch in &touches {
        before.push(relay.get_item(touch).await);
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = relay
        .client
        .request(method, format!("{}{path}", relay.upstream))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.expect("the emulator answers");
    let status = answer.status();
    let mut answer_headers = HeaderMap::new();
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            answer_headers.insert(name.clone(), value.clone());
        }
    }
    let answer_body = answer.bytes().await.expect("the emulator's answer");
    if !touches.is_empty() && !status.is_success() {
        crate::lock(&relay.units).refused += 1;
    }
    if !touches.is_empty() && status.is_success() {
        let mut priced = Vec::new();
        for (touch, old) in touches.iter().zip(before) {
            let new = if touch.check {
                old.clone()
            } else {
                relay.get_item(touch).await
            };
            priced.push((kind(&touch.key), price(touch, old.as_ref(), new.as_ref())));
        }
        let mut units = crate::lock(&relay.units);
        units.requests += 1;
        for (kind, (table, indexes)) in priced {
            units.table += table;
            units.indexes += indexes;
            *units.by_item.entry(kind).or_default() += table + indexes;
        }
    }
    let status = StatusCode::from_u16(status.as_u16()).expect("a status");
    (status, answer_headers, answer_body)
}

impl Relay {
    async fn get_item(&self, touch: &Touch) -> Option<Value> {
        let body = json!({"TableName": touch.table, "Key": touch.key, "ConsistentRead": true});
        crate::table_stream::json_call(
            &self.client,
            &self.upstream,
            "DynamoDB_20120810.GetItem",
            body,
        )
        .await
        .get("Item")
        .cloned()
    }
}

/// The items a write request touches.
fn touches(action: &str, body: &Value) -> Vec<Touch> {
    let table = body["TableName"].as_str().unwrap_or_default().to_owned();
    let single = |key: Value| Touch {
        table: table.clone(),
        key,
        transactional: false,
        check: false,
    };
    match action {
        "PutItem" => vec![single(key_of(&body["Item"]))],
        "UpdateItem" | "DeleteItem" => vec![single(body["Key"].clone())],
        "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(table, requests)| {
                requests.as_array().into_iter().flatten().map(|r| Touch {
                    table: table.clone(),
                    key: match r.get("PutRequest") {
                        Some(put) => key_of(&put["Item"]),
                        None => r["DeleteRequest"]["Key"].clone(),
                    },
                    transactional: false,
                    check: false,
                })
            })
            .collect(),
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let (op, detail) = item.as_object()?.iter().next()?;
                Some(Touch {
                    table: detail["TableName"].as_str().unwrap_or_default().to_owned(),
                    key: match op.as_str() {
                        "Put" => key_of(&detail["Item"]),
                        _ => detail["Key"].clone(),
                    },
                    transactional: true,
                    check: op == "ConditionCheck",
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn key_of(item: &Value) -> Value {
    json!({"pk": item["pk"], "sk": item["sk"]})
}

/// `CV#/#META`: what kind of item a key names.
fn kind(key: &Value) -> String {
    let prefix = |v: &Value| {
        let text = v["S"].as_str().unwrap_or_default();
        match text.find('#') {
            Some(at) => text[..=at].to_owned(),
            None => text.to_owned(),
        }
    };
    format!("{}/{}", prefix(&key["pk"]), prefix(&key["sk"]))
}

/// Write units for the table and for the indexes.
fn price(touch: &Touch, old: Option<&Value>, new: Option<&Value>) -> (u64, u64) {
    let size = |item: Option<&Value>| item.map_or(0, item_size);
    let times = if touch.transactional { 2 } else { 1 };
    let table = times * units(size(old).max(size(new)));
    if touch.check || old == new {
        return (table, 0);
    }
    let entry = |item: &Value| units(item_size(item) + 100);
    let mut indexes = 0;
    for (pk, sk) in INDEXES {
        let keys = |item: Option<&Value>| {
            item.filter(|i| i.get(pk).is_some() && i.get(sk).is_some())
                .map(|i| (i[pk].clone(), i[sk].clone()))
        };
        indexes += match (keys(old), keys(new)) {
            (Some(a), Some(b)) if a == b => entry(new.expect("in the index")),
            (Some(_), Some(_)) => entry(old.expect("was")) + entry(new.expect("is")),
            (Some(_), None) => entry(old.expect("was")),
            (None, Some(_)) => entry(new.expect("is")),
            (None, None) => 0,
        };
    }
    (table, indexes)
}

fn units(bytes: usize) -> u64 {
    (bytes.div_ceil(1024)).max(1) as u64
}

/// An item's size as DynamoDB counts it: each attribute's name and value.
fn item_size(item: &Value) -> usize {
    item.as_object()
        .into_iter()
        .flatten()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &Value) -> usize {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    match kind.as_str() {
        "S" => inner.as_str().map_or(0, str::len),
        "N" => inner
            .as_str()
            .map_or(0, |n| n.trim_start_matches('-').len().div_ceil(2) + 1),
        "B" => inner.as_str().map_or(0, |b| b.len() * 3 / 4),
        "BOOL" | "NULL" => 1,
        "SS" | "NS" | "BS" => inner
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_str().map_or(0, str::len))
            .sum(),
        "L" => {
            3 + inner
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| 1 + value_size(v))
                .sum::<usize>()
        }
        "M" => 3 + item_size(inner) + inner.as_object().map_or(0, |o| o.len()),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_put_in_a_transaction_costs_two_and_an_index_entry_one() {
        let touch = Touch {
            table: "t".into(),
            key: json!({}),
            transactional: true,
            check: false,
        };
        let item = json!({"pk": {"S": "CV#1"}, "sk": {"S": "#META"},
            "gsi1pk": {"S": "ST#open"}, "gsi1sk": {"S": "1"}});
        assert_eq!(price(&touch, None, Some(&item)), (2, 1));
        // The index's key changes: its entry is deleted and put.
        let mut moved = item.clone();
        moved["gsi1sk"] = json!({"S": "2"});
        assert_eq!(price(&touch, Some(&item), Some(&moved)), (2, 2));
        // A 3 KB item outside a transaction.
        let big = json!({"pk": {"S": "x"}, "sk": {"S": "y"}, "text": {"S": "a".repeat(3000)}});
        let single = Touch {
            transactional: false,
            ..touch
        };
        assert_eq!(price(&single, None, Some(&big)), (3, 0));
    }
}
