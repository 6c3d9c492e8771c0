//! The queue port on SQS: inbound is a FIFO queue (ordered per message group, deduplicated
//! by `MessageDeduplicationId` for SQS's 5-minute window), outbound a standard queue, each
//! with a dead-letter queue that SQS's redrive policy (`maxReceiveCount` 5) fills.
//!
//! Seven calls in SQS's JSON protocol (`application/x-amz-json-1.0`), as
//! [`SignedRequests`]: the SQS SDK client links every operation of the service for these.
//!
//! Differences from the embedded queue, all SQS's own:
//! - a standard queue (outbound) does not deduplicate, and a FIFO queue only within five
//!   minutes: consumers stay idempotent (the store is keyed on source ids);
//! - a FIFO queue hands out no message of a group while an earlier one of that group is
//!   in flight;
//! - `release` cannot store the failure's text (it is logged), so dead letters carry no
//!   `last_error`;
//! - dead letters are read by receiving them from the DLQ, which hides them for as long
//!   as the call runs (see [`SqsQueue::dead_letters`]).

use super::errors;
use super::signed::{MAX_ATTEMPTS, Service, SignedRequests, backoff, json_type, refusal};
use crate::ports::{
    DeadLetter, Delivery, Enqueue, MAX_PAGE_SIZE, Page, PageRequest, PortError, PortResult, Queue,
    QueueName,
};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

/// Entries per SQS batch call.
const BATCH: usize = 10;
/// Bytes of bodies per `SendMessageBatch`: a quarter of today's 1 MiB request limit, so
/// queues still on the older 256 KiB limit take it too.
const BATCH_BYTES: usize = 256 * 1024;
/// Attempts at the entries of a batch SQS refused for reasons of its own.
const SEND_ATTEMPTS: u32 = 3;
/// SQS's ceiling on a visibility timeout.
const MAX_VISIBILITY_SECS: u64 = 12 * 60 * 60;
/// How long a peek at the DLQ hides what it saw if the process dies before it makes
/// the messages visible again.
const PEEK_VISIBILITY_SECS: i32 = 30;
/// Receive calls a replay makes on the DLQ looking for its message (10 messages each).
const REPLAY_SCAN_CALLS: usize = 10;

/// The message attribute that says how a body that is not SQS-safe text was encoded.
pub const ENCODING_ATTRIBUTE: &str = "switchboard-encoding";

/// Where the four queues live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqsQueueUrls {
    /// A FIFO queue (its name ends in `.fifo`).
    pub inbound: String,
    pub inbound_dlq: String,
    /// A standard queue.
    pub outbound: String,
    pub outbound_dlq: String,
    /// A FIFO queue; empty where webhooks are not deployed.
    pub webhooks: String,
    pub webhooks_dlq: String,
}

/// Implements [`Queue`] on SQS.
#[derive(Clone, Debug)]
pub struct SqsQueue {
    aws: SignedRequests,
    urls: SqsQueueUrls,
}

/// A message attribute as SQS's JSON protocol writes it (only text ones are sent here).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attribute {
    data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    string_value: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct SendEntry {
    id: String,
    message_body: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    message_attributes: BTreeMap<String, Attribute>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_deduplication_id: Option<String>,
}

/// An entry of `DeleteMessageBatch` (no timeout) or `ChangeMessageVisibilityBatch`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReceiptEntry<'a> {
    id: String,
    receipt_handle: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    visibility_timeout: Option<i32>,
}

/// What a batch call answers: the entries that failed.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchOutcome {
    #[serde(default, deserialize_with = "null_as_empty")]
    failed: Vec<BatchFailure>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchFailure {
    id: String,
    #[serde(default)]
    sender_fault: bool,
    code: String,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Received {
    #[serde(default, deserialize_with = "null_as_empty")]
    messages: Vec<Message>,
}

/// A received message.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Message {
    message_id: Option<String>,
    receipt_handle: Option<String>,
    body: Option<String>,
    /// System attributes (`ApproximateReceiveCount`, `MessageGroupId`, `SentTimestamp`).
    #[serde(default, deserialize_with = "null_as_empty")]
    attributes: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    message_attributes: BTreeMap<String, Attribute>,
}

/// An answer's JSON; calls that answer nothing may answer with no body at all.
fn read_answer<T: DeserializeOwned>(body: &[u8]) -> serde_json::Result<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice(b"{}")
    } else {
        serde_json::from_slice(body)
    }
}

/// A list or map SQS may send as `null` (or leave out): empty.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// An answer with nothing in it worth reading.
#[derive(Deserialize)]
struct Nothing {}

/// SQS refused a call: its error code (without any prefix) and the port error.
struct Refused {
    code: Option<String>,
    error: PortError,
}

impl SqsQueue {
    pub fn new(aws: SignedRequests, urls: SqsQueueUrls) -> Self {
        Self { aws, urls }
    }

    /// One call: `action` is the operation's name (`SendMessageBatch`).
    async fn call<T: DeserializeOwned>(
        &self,
        action: &'static str,
        input: &impl Serialize,
    ) -> PortResult<T> {
        self.call_or_refused(action, input)
            .await
            .map_err(|refused| refused.error)
    }

    /// One call, with the error code of a refusal kept for the caller to judge.
    async fn call_or_refused<T: DeserializeOwned>(
        &self,
        action: &'static str,
        input: &impl Serialize,
    ) -> Result<T, Refused> {
        let failed = |error: PortError| Refused { code: None, error };
        let url = match self.aws.endpoint() {
            Some(endpoint) => format!("{endpoint}/"),
            None => format!("https://sqs.{}.amazonaws.com/", self.aws.region()),
        };
        let body = serde_json::to_vec(input)
            .map_err(|e| failed(PortError::Internal(format!("sqs:{action}: {e}"))))?;
        let request = http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AmazonSQS.{action}"))
            .body(Bytes::from(body))
            .map_err(|e| failed(PortError::Internal(format!("building sqs:{action}: {e}"))))?;
        let operation = format!("sqs:{action}");
        let mut attempt = 1;
        let answer = loop {
            // A 400 is read here: SQS says "slow down" with one too (`RequestThrottled`,
            // `ThrottlingException`), and a stale receipt is an answer to some callers.
            let answer = self
                .aws
                .send(&operation, Service::Sqs, request.clone(), &[400])
                .await
                .map_err(failed)?;
            if answer.status != 400 {
                break answer;
            }
            let refused = Refused {
                code: json_type(&String::from_utf8_lossy(&answer.body)).or_else(|| {
                    // The query protocol's code, which SQS also sends:
                    // `AWS.SimpleQueueService.NonExistentQueue;Sender`.
                    answer
                        .headers
                        .get("x-amzn-query-error")
                        .and_then(|v| v.to_str().ok())
                        .map(|v| v.split(';').next().unwrap_or(v).to_owned())
                }),
                error: refusal(&operation, &answer),
            };
            if !matches!(refused.error, PortError::Unavailable(_)) || attempt == MAX_ATTEMPTS {
                return Err(refused);
            }
            tracing::debug!(operation, attempt, error = %refused.error, "retrying");
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        };
        read_answer(&answer.body).map_err(|e| {
            failed(PortError::Internal(format!(
                "{operation}: an answer that does not read: {e}"
            )))
        })
    }

    fn url(&self, queue: QueueName) -> &str {
        match queue {
            QueueName::Inbound => &self.urls.inbound,
            QueueName::Outbound => &self.urls.outbound,
            QueueName::Webhooks => &self.urls.webhooks,
        }
    }

    fn dlq_url(&self, queue: QueueName) -> &str {
        match queue {
            QueueName::Inbound => &self.urls.inbound_dlq,
            QueueName::Outbound => &self.urls.outbound_dlq,
            QueueName::Webhooks => &self.urls.webhooks_dlq,
        }
    }

    /// Sends one batch, trying again the entries SQS failed for reasons of its own; an
    /// entry it refuses as malformed, or one still failing after the last try, is an error.
    async fn send_batch(&self, url: &str, mut pending: Vec<SendEntry>) -> PortResult<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let out: BatchOutcome = self
                .call(
                    "SendMessageBatch",
                    &serde_json::json!({ "QueueUrl": url, "Entries": pending }),
                )
                .await?;
            let Some(first) = out.failed.first() else {
                return Ok(());
            };
            let error = batch_failure("SendMessageBatch", first);
            if out.failed.iter().any(|f| f.sender_fault) || attempt >= SEND_ATTEMPTS {
                return Err(error);
            }
            let failed = out.failed.len();
            tracing::warn!(%error, failed, attempt, "SQS refused part of a batch; retrying those");
            pending.retain(|entry| out.failed.iter().any(|f| f.id == entry.id));
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
    }

    /// One `ReceiveMessage` call.
    async fn receive_once(
        &self,
        url: &str,
        max: usize,
        visibility_secs: i32,
        wait_secs: i32,
    ) -> PortResult<Vec<Message>> {
        let out: Received = self
            .call(
                "ReceiveMessage",
                &serde_json::json!({
                    "QueueUrl": url,
                    "MaxNumberOfMessages": max.clamp(1, BATCH),
                    "VisibilityTimeout": visibility_secs,
                    "WaitTimeSeconds": wait_secs,
                    "MessageSystemAttributeNames": ["All"],
                    "MessageAttributeNames": ["All"],
                }),
            )
            .await?;
        Ok(out.messages)
    }

    /// Up to `max` messages: a one-second long poll (which asks every SQS server, unlike a
    /// short poll), then more calls without waiting while full batches keep coming.
    async fn receive_up_to(
        &self,
        url: &str,
        max: usize,
        visibility_secs: i32,
    ) -> PortResult<Vec<Message>> {
        let mut messages = Vec::new();
        let mut wait = 1;
        while messages.len() < max {
            let want = (max - messages.len()).min(BATCH);
            let got = self.receive_once(url, want, visibility_secs, wait).await?;
            let full = got.len() >= want;
            messages.extend(got);
            if !full {
                break;
            }
            wait = 0;
        }
        Ok(messages)
    }

    /// Makes peeked messages visible again at once. Best effort: whatever this misses
    /// reappears when its peek's visibility ends.
    async fn unhide(&self, url: &str, receipts: Vec<String>) {
        for chunk in receipts.chunks(BATCH) {
            let entries: Vec<ReceiptEntry<'_>> = chunk
                .iter()
                .enumerate()
                .map(|(i, receipt)| ReceiptEntry {
                    id: i.to_string(),
                    receipt_handle: receipt,
                    visibility_timeout: Some(0),
                })
                .collect();
            let result: PortResult<BatchOutcome> = self
                .call(
                    "ChangeMessageVisibilityBatch",
                    &serde_json::json!({ "QueueUrl": url, "Entries": entries }),
                )
                .await;
            match result {
                Ok(out) if out.failed.is_empty() => {}
                Ok(out) => {
                    tracing::warn!(
                        failed = out.failed.len(),
                        "could not unhide peeked dead letters"
                    )
                }
                Err(error) => {
                    tracing::warn!(%error, "could not unhide peeked dead letters");
                }
            }
        }
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, queue: QueueName, messages: Vec<Enqueue>) -> PortResult<()> {
        let url = self.url(queue);
        let fifo = is_fifo(url);
        let mut batch = Vec::new();
        let mut batch_bytes = 0;
        for (i, message) in messages.iter().enumerate() {
            let (entry, bytes) = send_entry(i, message, fifo);
            if batch.len() == BATCH || (!batch.is_empty() && batch_bytes + bytes > BATCH_BYTES) {
                self.send_batch(url, std::mem::take(&mut batch)).await?;
                batch_bytes = 0;
            }
            batch.push(entry);
            batch_bytes += bytes;
        }
        if !batch.is_empty() {
            self.send_batch(url, batch).await?;
        }
        Ok(())
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> PortResult<Vec<Delivery>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let messages = self
            .receive_up_to(self.url(queue), max, seconds(visibility))
            .await?;
        messages.iter().map(delivery).collect()
    }

    async fn ack(&self, queue: QueueName, receipts: &[String]) -> PortResult<()> {
        let url = self.url(queue);
        for chunk in receipts.chunks(BATCH) {
            let entries: Vec<ReceiptEntry<'_>> = chunk
                .iter()
                .enumerate()
                .map(|(i, receipt)| ReceiptEntry {
                    id: i.to_string(),
                    receipt_handle: receipt,
                    visibility_timeout: None,
                })
                .collect();
            let out: BatchOutcome = self
                .call(
                    "DeleteMessageBatch",
                    &serde_json::json!({ "QueueUrl": url, "Entries": entries }),
                )
                .await?;
            // A stale receipt names a message that is gone or handed to someone else:
            // nothing to do, as on the embedded queue.
            if let Some(failed) = out.failed.iter().find(|f| !is_stale_receipt(&f.code)) {
                return Err(batch_failure("DeleteMessageBatch", failed));
            }
        }
        Ok(())
    }

    async fn release(
        &self,
        queue: QueueName,
        receipt: &str,
        delay: Duration,
        error: &str,
    ) -> PortResult<()> {
        // SQS keeps no note with a message: the log is where the reason goes.
        tracing::warn!(
            queue = queue.as_str(),
            error,
            "message released for another try"
        );
        let result: Result<Nothing, Refused> = self
            .call_or_refused(
                "ChangeMessageVisibility",
                &serde_json::json!({
                    "QueueUrl": self.url(queue),
                    "ReceiptHandle": receipt,
                    "VisibilityTimeout": seconds(delay),
                }),
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(refused) if refused.code.as_deref().is_some_and(is_stale_receipt) => Ok(()),
            Err(refused) => Err(refused.error),
        }
    }

    /// Peeks at the DLQ: receives up to `page.limit` messages with a short visibility
    /// timeout, then makes them visible again at once. While the call runs, the messages it
    /// holds are hidden from everyone else, so a replay (or another listing) running at the
    /// same moment may not see them: the replay answers `false` and can simply be tried
    /// again. A crash mid-call hides them for at most 30 s. SQS cannot page through a
    /// queue, so `next_cursor` is always `None`; on the FIFO DLQ a peek sees no more than
    /// the messages of a group one receive returns. The receive count is SQS's
    /// approximation, less this peek's own receive.
    async fn dead_letters(
        &self,
        queue: QueueName,
        page: &PageRequest,
    ) -> PortResult<Page<DeadLetter>> {
        let url = self.dlq_url(queue);
        let limit = page.limit.clamp(1, MAX_PAGE_SIZE) as usize;
        let messages = self.receive_up_to(url, limit, PEEK_VISIBILITY_SECS).await?;
        let items = messages
            .iter()
            .map(|m| dead_letter(queue, m))
            .collect::<PortResult<Vec<_>>>();
        let receipts = messages
            .iter()
            .filter_map(|m| m.receipt_handle.clone())
            .collect();
        self.unhide(url, receipts).await;
        Ok(Page {
            items: items?,
            next_cursor: None,
        })
    }

    /// Looks for the message among the first hundred of the DLQ, sends its body and
    /// attributes back to the source queue (same message group on FIFO, a fresh
    /// deduplication id so SQS does not drop it as a repeat), then deletes it from the DLQ.
    /// Sent first, deleted second: a failure in between leaves a copy in the DLQ, never
    /// nothing.
    async fn replay(&self, queue: QueueName, id: &str) -> PortResult<bool> {
        let dlq = self.dlq_url(queue);
        let mut others = Vec::new();
        let mut found = None;
        for call in 0..REPLAY_SCAN_CALLS {
            let wait = if call == 0 { 1 } else { 0 };
            let got = self
                .receive_once(dlq, BATCH, PEEK_VISIBILITY_SECS, wait)
                .await?;
            if got.is_empty() {
                break;
            }
            for message in got {
                if found.is_none() && message.message_id.as_deref() == Some(id) {
                    found = Some(message);
                } else {
                    others.extend(message.receipt_handle);
                }
            }
            if found.is_some() {
                break;
            }
        }
        self.unhide(dlq, others).await;
        let Some(message) = found else {
            return Ok(false);
        };

        let source = self.url(queue);
        let mut send = serde_json::json!({
            "QueueUrl": source,
            "MessageBody": message.body.as_deref().unwrap_or_default(),
        });
        if !message.message_attributes.is_empty() {
            send["MessageAttributes"] = serde_json::json!(message.message_attributes);
        }
        if is_fifo(source) {
            let group = system_attribute(&message, "MessageGroupId").unwrap_or(id);
            send["MessageGroupId"] = group.into();
            send["MessageDeduplicationId"] = format!("replay-{}", ulid::Ulid::new()).into();
        }
        let _: Nothing = self.call("SendMessage", &send).await?;

        let receipt = message.receipt_handle.as_deref().unwrap_or_default();
        let _: Nothing = self
            .call(
                "DeleteMessage",
                &serde_json::json!({ "QueueUrl": dlq, "ReceiptHandle": receipt }),
            )
            .await?;
        tracing::info!(queue = queue.as_str(), id, "dead letter replayed");
        Ok(true)
    }
}

fn is_fifo(url: &str) -> bool {
    url.ends_with(".fifo")
}

/// The receipt no longer names an in-flight message (acked, expired, or received again).
fn is_stale_receipt(code: &str) -> bool {
    matches!(
        code,
        "ReceiptHandleIsInvalid" | "InvalidReceiptHandle" | "MessageNotInflight"
    ) || code.ends_with(".ReceiptHandleIsInvalid")
        || code.ends_with(".MessageNotInflight")
}

/// Whole seconds, rounded up, within SQS's 0–12 h.
fn seconds(d: Duration) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(secs.min(MAX_VISIBILITY_SECS)).unwrap_or(i32::MAX)
}

/// A group or deduplication id SQS accepts: at most 128 printable ASCII characters.
/// Anything else becomes its SHA-256: only equality matters for both, and a hash keeps
/// distinct values distinct where truncation would not.
pub fn sqs_token(value: &str) -> String {
    let acceptable =
        !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic());
    if acceptable {
        value.to_owned()
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(value.as_bytes())))
    }
}

/// Characters an SQS body may hold (XML 1.0's).
fn sqs_safe(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
}

/// The body as SQS carries it: the text itself when SQS can hold it, else base64 with an
/// attribute that says so (SQS refuses empty bodies: those are a marker).
fn encode_body(bytes: &[u8]) -> (String, Option<&'static str>) {
    match std::str::from_utf8(bytes) {
        Ok("") => ("-".to_owned(), Some("empty")),
        Ok(text) if text.chars().all(sqs_safe) => (text.to_owned(), None),
        _ => (BASE64.encode(bytes), Some("base64")),
    }
}

/// The bytes a queue message was sent with, from its SQS body and the value of its
/// [`ENCODING_ATTRIBUTE`] (for consumers that get messages from Lambda's event).
pub fn decode_body(body: &str, encoding: Option<&str>) -> PortResult<Vec<u8>> {
    match encoding {
        None => Ok(body.as_bytes().to_vec()),
        Some("empty") => Ok(Vec::new()),
        Some("base64") => BASE64.decode(body).map_err(|e| {
            PortError::Internal(format!("a base64 message body does not decode: {e}"))
        }),
        Some(other) => Err(PortError::Internal(format!(
            "unknown message body encoding `{other}`"
        ))),
    }
}

/// One entry of a `SendMessageBatch`, and the bytes it adds to the request.
fn send_entry(index: usize, message: &Enqueue, fifo: bool) -> (SendEntry, usize) {
    let (body, encoding) = encode_body(&message.body);
    let bytes = body.len() + 64;
    let mut message_attributes = BTreeMap::new();
    if let Some(encoding) = encoding {
        message_attributes.insert(
            ENCODING_ATTRIBUTE.to_owned(),
            Attribute {
                data_type: "String".into(),
                string_value: Some(encoding.into()),
            },
        );
    }
    let entry = SendEntry {
        id: index.to_string(),
        message_body: body,
        message_attributes,
        message_group_id: fifo.then(|| sqs_token(&message.group)),
        message_deduplication_id: fifo.then(|| sqs_token(&message.dedup)),
    };
    (entry, bytes)
}

/// The port error for one failed entry of a batch call.
fn batch_failure(op: &str, failure: &BatchFailure) -> PortError {
    errors::batch_entry(
        op,
        &failure.code,
        failure.sender_fault,
        failure.message.as_deref().unwrap_or(""),
    )
}

fn system_attribute<'m>(message: &'m Message, name: &str) -> Option<&'m str> {
    message.attributes.get(name).map(String::as_str)
}

fn body_of(message: &Message) -> PortResult<Vec<u8>> {
    let encoding = message
        .message_attributes
        .get(ENCODING_ATTRIBUTE)
        .and_then(|v| v.string_value.as_deref());
    decode_body(message.body.as_deref().unwrap_or_default(), encoding)
}

fn receive_count(message: &Message) -> u32 {
    system_attribute(message, "ApproximateReceiveCount")
        .and_then(|c| c.parse().ok())
        .unwrap_or(1)
}

fn delivery(message: &Message) -> PortResult<Delivery> {
    let (Some(id), Some(receipt)) = (&message.message_id, &message.receipt_handle) else {
        return Err(PortError::Internal(
            "SQS returned a message without id or receipt handle".into(),
        ));
    };
    Ok(Delivery {
        id: id.clone(),
        receipt: receipt.clone(),
        body: body_of(message)?,
        receive_count: receive_count(message),
        group: system_attribute(message, "MessageGroupId").map(str::to_owned),
    })
}

fn dead_letter(queue: QueueName, message: &Message) -> PortResult<DeadLetter> {
    let enqueued_at = system_attribute(message, "SentTimestamp")
        .and_then(|ms| ms.parse::<i64>().ok())
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .unwrap_or_else(Utc::now);
    Ok(DeadLetter {
        id: message.message_id.clone().unwrap_or_default(),
        queue,
        receive_count: receive_count(message).saturating_sub(1),
        enqueued_at,
        last_error: None,
        body: String::from_utf8_lossy(&body_of(message)?).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acceptable_ids_pass_unchanged_and_others_become_their_hash() {
        assert_eq!(sqs_token("telegram:42"), "telegram:42");
        let long = "x".repeat(129);
        for odd in [long.as_str(), "with space", "émile", ""] {
            let token = sqs_token(odd);
            assert!(token.starts_with("sha256:") && token.len() == 71, "{odd}");
        }
        assert_ne!(sqs_token("a b"), sqs_token("a  b"));
    }

    #[test]
    fn bodies_sqs_cannot_hold_round_trip_through_base64() {
        for body in [
            b"{\"text\":\"\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85\"}".to_vec(),
            vec![0, 1, 2, 255],
            b"bell \x07".to_vec(),
            Vec::new(),
        ] {
            let (text, encoding) = encode_body(&body);
            assert!(!text.is_empty());
            assert_eq!(decode_body(&text, encoding).unwrap(), body);
        }
        assert_eq!(encode_body(b"plain json").1, None);
    }

    #[test]
    fn empty_answers_and_null_lists_read_as_nothing() {
        let none: Received = read_answer(b"").unwrap();
        assert!(none.messages.is_empty());
        let null: Received = read_answer(br#"{"Messages": null}"#).unwrap();
        assert!(null.messages.is_empty());
        let _: Nothing = read_answer(b" \n").unwrap();
        let batch: BatchOutcome =
            read_answer(br#"{"Successful": [{"Id": "0"}], "Failed": null}"#).unwrap();
        assert!(batch.failed.is_empty());
        let one: Received = read_answer(
            br#"{"Messages": [{"MessageId": "m", "ReceiptHandle": "r", "Body": "b",
                "Attributes": null, "MessageAttributes": null}]}"#,
        )
        .unwrap();
        assert_eq!(delivery(&one.messages[0]).unwrap().body, b"b");
        assert!(read_answer::<Received>(b"<xml/>").is_err());
    }

    #[test]
    fn visibility_is_whole_seconds_rounded_up_within_twelve_hours() {
        assert_eq!(seconds(Duration::ZERO), 0);
        assert_eq!(seconds(Duration::from_millis(1)), 1);
        assert_eq!(seconds(Duration::from_secs(30)), 30);
        assert_eq!(seconds(Duration::from_secs(86_400)), 43_200);
    }
}
