//! Queue consumers: a batch of SQS messages from Lambda's event source mapping, each
//! handed to a service as a [`Delivery`], failures answered as partial batch failures
//! (`ReportBatchItemFailures`): the mapping deletes the rest, and the failed ones come
//! back when their visibility ends (after five receives SQS moves them to the DLQ).
//!
//! Order: a FIFO queue's messages carry their `MessageGroupId`. Messages of one group
//! are handled one after another; once one fails, the later ones of its group in the
//! batch are reported failed without being handled, so none overtakes it. Groups are
//! independent and handled concurrently, as are the messages of a standard queue.

use super::Error;
use crate::aws::{ENCODING_ATTRIBUTE, decode_body};
use crate::ports::{Delivery, Queue, QueueName};
use crate::services::worker::{Handled, backoff};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{LambdaEvent, service_fn};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// A consumer of one queue.
pub struct Consumer {
    /// The queue the messages come from: a failed message's next try is scheduled on it.
    pub queue: Arc<dyn Queue>,
    pub name: QueueName,
    /// The longest a failed message waits before its next try.
    pub max_retry_delay: Duration,
}

/// The batch cannot be answered message by message: Lambda retries all of it.
#[derive(Debug, thiserror::Error)]
#[error("an SQS record has no messageId")]
pub struct MissingMessageId;

impl From<MissingMessageId> for lambda_runtime::Diagnostic {
    fn from(e: MissingMessageId) -> Self {
        Self {
            error_type: "MissingMessageId".into(),
            error_message: e.to_string(),
        }
    }
}

/// One record of the event, as far as it could be read.
struct Record {
    id: String,
    receipt: String,
    group: Option<String>,
    receive_count: u32,
    /// The delivery, or why the record's body could not be read.
    delivery: Result<Delivery, String>,
}

impl TryFrom<SqsMessage> for Record {
    type Error = MissingMessageId;

    fn try_from(message: SqsMessage) -> Result<Self, MissingMessageId> {
        let id = message
            .message_id
            .filter(|id| !id.is_empty())
            .ok_or(MissingMessageId)?;
        let receipt = message.receipt_handle.unwrap_or_default();
        let receive_count = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|count| count.parse().ok())
            .unwrap_or(1);
        let group = message.attributes.get("MessageGroupId").cloned();
        let encoding = message
            .message_attributes
            .get(ENCODING_ATTRIBUTE)
            .and_then(|attribute| attribute.string_value.as_deref());
        let delivery = decode_body(message.body.as_deref().unwrap_or_default(), encoding)
            .map(|body| Delivery {
                id: id.clone(),
                receipt: receipt.clone(),
                body,
                receive_count,
                group: group.clone(),
            })
            .map_err(|e| e.to_string());
        Ok(Self {
            id,
            receipt,
            group,
            receive_count,
            delivery,
        })
    }
}

impl Consumer {
    /// Serves SQS events until Lambda stops the process, handing each message to `handle`.
    pub async fn run<H, F>(self, handle: H) -> Result<(), Error>
    where
        H: Fn(Delivery) -> F,
        F: Future<Output = Handled>,
    {
        let (consumer, handle) = (&self, &handle);
        lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
            consumer.handle(event.payload, handle).await
        }))
        .await
    }

    /// Handles one batch; the answer names the messages to try again.
    pub async fn handle<H, F>(
        &self,
        event: SqsEvent,
        handle: &H,
    ) -> Result<SqsBatchResponse, MissingMessageId>
    where
        H: Fn(Delivery) -> F,
        F: Future<Output = Handled>,
    {
        let records = event
            .records
            .into_iter()
            .map(Record::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let count = records.len();

        // Groups in order of their first message; a message without a group (standard
        // queue) is a group of its own.
        let groups = crate::services::worker::in_groups(records, |r| r.group.as_deref());

        let outcomes =
            futures::future::join_all(groups.into_iter().map(|group| self.group(group, handle)))
                .await;
        let mut failed: Vec<(usize, String)> = outcomes.into_iter().flatten().collect();
        failed.sort_unstable_by_key(|(position, _)| *position);
        if !failed.is_empty() {
            tracing::warn!(
                failed = failed.len(),
                batch = count,
                "part of the batch will be tried again"
            );
        }
        let mut response = SqsBatchResponse::default();
        for (_, id) in failed {
            response.add_failure(id);
        }
        Ok(response)
    }

    /// The messages of one group, in order; returns the failed ones with their positions.
    async fn group<H, F>(&self, records: Vec<(usize, Record)>, handle: &H) -> Vec<(usize, String)>
    where
        H: Fn(Delivery) -> F,
        F: Future<Output = Handled>,
    {
        let mut failed = Vec::new();
        // Once a message fails: when the group's next try is due.
        let mut blocked: Option<Duration> = None;
        for (position, record) in records {
            let span = tracing::info_span!(
                "sqs_message",
                queue = self.name.as_str(),
                message_id = %record.id,
                receive_count = record.receive_count,
                group = record.group.as_deref(),
            );
            let id = record.id.clone();
            let outcome = self.one(record, blocked, handle).instrument(span).await;
            if let Some(delay) = outcome {
                failed.push((position, id));
                blocked = Some(delay);
            }
        }
        failed
    }

    /// One message; `Some(delay)` when it failed and is due again after `delay`.
    async fn one<H, F>(
        &self,
        record: Record,
        blocked: Option<Duration>,
        handle: &H,
    ) -> Option<Duration>
    where
        H: Fn(Delivery) -> F,
        F: Future<Output = Handled>,
    {
        if let Some(delay) = blocked {
            // Due with the message that failed before it, so the group comes back in order.
            let reason = "an earlier message of its group failed";
            tracing::info!("not handled: {reason}");
            self.release(&record.receipt, delay, reason).await;
            return Some(delay);
        }
        let handled = match record.delivery {
            Ok(delivery) => handle(delivery).await,
            Err(reason) => {
                tracing::error!(%reason, "the message body cannot be read");
                Handled::Retry {
                    after: backoff(record.receive_count),
                    reason,
                }
            }
        };
        match handled {
            Handled::Done => None,
            Handled::Retry { after, reason } => {
                let delay = after.min(self.max_retry_delay);
                self.release(&record.receipt, delay, &reason).await;
                Some(delay)
            }
        }
    }

    /// Schedules the next try `delay` from now rather than when the queue's visibility
    /// timeout ends; if that fails, the visibility timeout stands.
    async fn release(&self, receipt: &str, delay: Duration, reason: &str) {
        if receipt.is_empty() {
            return;
        }
        if let Err(e) = self.queue.release(self.name, receipt, delay, reason).await {
            tracing::warn!(error = %e, "could not schedule the next try; the visibility timeout stands");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{DeadLetter, Enqueue, Page, PageRequest, PortResult};
    use std::sync::Mutex;

    /// The consumer only releases: any other call fails the test with this.
    fn not_called() -> crate::ports::PortError {
        crate::ports::PortError::Internal("the consumer made a call it never makes".into())
    }

    /// Records the releases; nothing else is called.
    #[derive(Default)]
    struct Releases(Mutex<Vec<(String, Duration)>>);

    #[async_trait::async_trait]
    impl Queue for Releases {
        async fn send(&self, _: QueueName, _: Vec<Enqueue>) -> PortResult<()> {
            Err(not_called())
        }
        async fn receive(&self, _: QueueName, _: usize, _: Duration) -> PortResult<Vec<Delivery>> {
            Err(not_called())
        }
        async fn ack(&self, _: QueueName, _: &[String]) -> PortResult<()> {
            Err(not_called())
        }
        async fn release(
            &self,
            _: QueueName,
            receipt: &str,
            delay: Duration,
            _: &str,
        ) -> PortResult<()> {
            self.0.lock().unwrap().push((receipt.to_owned(), delay));
            Ok(())
        }
        async fn dead_letters(
            &self,
            _: QueueName,
            _: &PageRequest,
        ) -> PortResult<Page<DeadLetter>> {
            Err(not_called())
        }
        async fn replay(&self, _: QueueName, _: &str) -> PortResult<bool> {
            Err(not_called())
        }
    }

    /// A FIFO record as Lambda's event source mapping delivers it.
    fn record(id: &str, group: Option<&str>, body: &str, receives: u32) -> serde_json::Value {
        let mut attributes = serde_json::json!({
            "ApproximateReceiveCount": receives.to_string(),
            "SentTimestamp": "1741608000000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1741608000100"
        });
        if let Some(group) = group {
            attributes["MessageGroupId"] = group.into();
            attributes["MessageDeduplicationId"] = format!("dedup-{id}").into();
            attributes["SequenceNumber"] = "18849496460467696128".into();
        }
        serde_json::json!({
            "messageId": id,
            "receiptHandle": format!("receipt-{id}"),
            "body": body,
            "attributes": attributes,
            "messageAttributes": {},
            "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:inbound.fifo",
            "awsRegion": "us-east-1"
        })
    }

    fn event(records: Vec<serde_json::Value>) -> SqsEvent {
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    fn consumer(queue: Arc<Releases>) -> Consumer {
        Consumer {
            queue,
            name: QueueName::Inbound,
            max_retry_delay: Duration::from_secs(60),
        }
    }

    fn failures(response: &SqsBatchResponse) -> Vec<&str> {
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }

    /// Fails the bodies that say "fail"; remembers what it saw, in order.
    fn handler(seen: &Mutex<Vec<String>>) -> impl Fn(Delivery) -> std::future::Ready<Handled> + '_ {
        move |d: Delivery| {
            let body = String::from_utf8(d.body).unwrap();
            seen.lock().unwrap().push(body.clone());
            std::future::ready(if body.starts_with("fail") {
                Handled::Retry {
                    after: Duration::from_secs(4),
                    reason: "no".into(),
                }
            } else {
                Handled::Done
            })
        }
    }

    #[tokio::test]
    async fn a_failure_holds_back_the_rest_of_its_group_and_no_other() {
        let queue = Arc::new(Releases::default());
        let seen = Mutex::new(Vec::new());
        let batch = event(vec![
            record("1", Some("a"), "a1", 1),
            record("2", Some("b"), "b1", 1),
            record("3", Some("a"), "fail-a2", 2),
            record("4", Some("b"), "b2", 1),
            record("5", Some("a"), "a3", 1),
            record("6", Some("a"), "a4", 1),
        ]);
        let response = consumer(queue.clone())
            .handle(batch, &handler(&seen))
            .await
            .unwrap();
        assert_eq!(failures(&response), ["3", "5", "6"]);
        let seen = seen.into_inner().unwrap();
        assert!(!seen.contains(&"a3".to_owned()) && !seen.contains(&"a4".to_owned()));
        let a: Vec<_> = seen.iter().filter(|b| b.contains('a')).collect();
        assert_eq!(a, ["a1", "fail-a2"]);
        // The failed message and those behind it are all due again together.
        let releases = queue.0.lock().unwrap().clone();
        assert_eq!(releases.len(), 3);
        assert!(releases.iter().all(|(_, d)| *d == Duration::from_secs(4)));
    }

    #[tokio::test]
    async fn standard_queue_messages_fail_alone() {
        let queue = Arc::new(Releases::default());
        let seen = Mutex::new(Vec::new());
        let batch = event(vec![
            record("1", None, "fail-1", 1),
            record("2", None, "two", 1),
            record("3", None, "three", 1),
        ]);
        let response = consumer(queue)
            .handle(batch, &handler(&seen))
            .await
            .unwrap();
        assert_eq!(failures(&response), ["1"]);
        assert_eq!(seen.into_inner().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn the_retry_delay_is_capped_and_an_unreadable_body_fails_alone() {
        let queue = Arc::new(Releases::default());
        let seen = Mutex::new(Vec::new());
        let mut base64 = record("1", None, "!!! not base64", 1);
        base64["messageAttributes"] = serde_json::json!({
            ENCODING_ATTRIBUTE: {"stringValue": "base64", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
        });
        let mut encoded = record("2", None, "aGVsbG8=", 3);
        encoded["messageAttributes"] = base64["messageAttributes"].clone();
        let mut consumer = consumer(queue.clone());
        consumer.max_retry_delay = Duration::from_secs(2);
        let failing = record("3", None, "fail-3", 1);
        let response = consumer
            .handle(event(vec![base64, encoded, failing]), &handler(&seen))
            .await
            .unwrap();
        assert_eq!(failures(&response), ["1", "3"]);
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        assert_eq!(seen, ["fail-3", "hello"]);
        let mut releases = queue.0.lock().unwrap().clone();
        releases.sort();
        assert_eq!(
            releases,
            [
                ("receipt-1".to_owned(), Duration::from_secs(1)),
                ("receipt-3".to_owned(), Duration::from_secs(2)),
            ]
        );
    }

    #[tokio::test]
    async fn a_record_without_a_message_id_fails_the_whole_batch() {
        let seen = Mutex::new(Vec::new());
        let mut nameless = record("1", None, "x", 1);
        nameless.as_object_mut().unwrap().remove("messageId");
        let result = consumer(Arc::new(Releases::default()))
            .handle(event(vec![nameless]), &handler(&seen))
            .await;
        assert!(result.is_err());
    }

    #[tokio::test]
    async fn the_answer_is_the_json_lambda_expects() {
        let mut response = SqsBatchResponse::default();
        response.add_failure("m-1");
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m-1"}]})
        );
    }
}
