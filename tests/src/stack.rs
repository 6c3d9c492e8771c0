//! The deployed stack, on the emulator: the functions of `infra/template.yaml` as real
//! processes, the routes API Gateway would send them, and the SQS event source mappings
//! that feed the consumers, played by the test driver.

use crate::cloud::{Cloud, queue_arn};
use crate::events::{HttpRequest, HttpResponse, scheduled_event, sqs_event};
use crate::function::Function;
use crate::table_stream::TableStream;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::Value;

/// A queue a consumer function drains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The FIFO inbound queue → `router`.
    Inbound,
    /// The standard outbound queue → `sender`.
    Outbound,
    /// The FIFO webhooks queue → `webhook-sender`.
    Webhooks,
}

/// What one pass of the event source mapping did.
#[derive(Debug, Default)]
pub struct Batch {
    /// The message ids handed to the function, in order.
    pub received: Vec<String>,
    /// Those the function reported as failed (left on the queue).
    pub failed: Vec<String>,
}

/// The HTTP and queue functions on one test's resources.
pub struct Stack {
    pub cloud: Cloud,
    pub webform: Function,
    pub inbox_api: Function,
    pub router: Function,
    pub sender: Function,
    /// `telegram-webhook`, when the stack has a bot (as the template's `HasTelegram`).
    pub telegram_webhook: Option<Function>,
    /// `telephony`, when the stack has a Twilio account or a PBX secret (as the
    /// template's `HasTelephony`).
    pub telephony: Option<Function>,
    /// `webhook-sender`, started when its queue is first drained.
    pub webhook_sender: Option<Function>,
    /// What every function of the stack was started with.
    env: Vec<(String, String)>,
}

impl Stack {
    pub async fn start() -> Stack {
        Self::start_with(&[]).await
    }

    /// Starts the functions with extra variables for all of them.
    pub async fn start_with(extra: &[(&str, &str)]) -> Stack {
        Self::start_on(Cloud::create().await, extra).await
    }

    /// Starts the functions on `cloud` (whose secrets the caller may have added), with
    /// extra variables for all of them. A bot token parameter adds `telegram-webhook`; a
    /// Twilio account SID or a PBX secret parameter adds `telephony`.
    pub async fn start_on(cloud: Cloud, extra: &[(&str, &str)]) -> Stack {
        let mut env = cloud.function_env();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let has = |name: &str| env.iter().any(|(k, v)| k == name && !v.is_empty());
        let has_telegram = has("SWITCHBOARD_TELEGRAM_BOT_TOKEN_PARAMETER");
        let has_telephony =
            has("SWITCHBOARD_TWILIO_ACCOUNT_SID") || has("SWITCHBOARD_PBX_SECRET_PARAMETER");
        let telegram_webhook = async {
            match has_telegram {
                true => Some(Function::start("telegram-webhook", &env).await),
                false => None,
            }
        };
        let telephony = async {
            match has_telephony {
                true => Some(Function::start("telephony", &env).await),
                false => None,
            }
        };
        let (webform, inbox_api, router, sender, telegram_webhook, telephony) = tokio::join!(
            Function::start("webform", &env),
            Function::start("inbox-api", &env),
            Function::start("router", &env),
            Function::start("sender", &env),
            telegram_webhook,
            telephony,
        );
        Stack {
            cloud,
            webform,
            inbox_api,
            router,
            sender,
            telegram_webhook,
            telephony,
            webhook_sender: None,
            env,
        }
    }

    /// Sends a request through "API Gateway": `/v1/…` and the web inbox to `inbox-api`,
    /// `/webhooks/telegram` to `telegram-webhook`, the Twilio webhooks and the PBX hook
    /// to `telephony`, the rest to `webform`, as the template's routes do.
    pub async fn http(&mut self, request: HttpRequest) -> HttpResponse {
        let inbox = request.target == "/"
            || request.target == "/app"
            || request.target.starts_with("/app/");
        let function = if request.target.starts_with("/v1/") || inbox {
            &mut self.inbox_api
        } else if request.target == "/webhooks/telegram" {
            self.telegram_webhook
                .as_mut()
                .expect("the stack has a Telegram bot")
        } else if request.target.starts_with("/webhooks/twilio/")
            || request.target == "/webhooks/pbx"
        {
            self.telephony
                .as_mut()
                .expect("the stack has a Twilio account or a PBX hook")
        } else {
            &mut self.webform
        };
        HttpResponse::from_lambda(&function.invoke_ok(request.event()).await)
    }

    /// Posts the web form urlencoded, asking for JSON back.
    pub async fn post_webform(&mut self, fields: &[(&str, &str)]) -> HttpResponse {
        self.http(
            HttpRequest::new("POST", "/webhooks/webform")
                .header("accept", "application/json")
                .form(fields),
        )
        .await
    }

    /// Calls the agent API with `key`.
    pub async fn api(
        &mut self,
        method: &'static str,
        target: &str,
        key: &str,
        body: Option<&Value>,
    ) -> HttpResponse {
        let mut request =
            HttpRequest::new(method, target).header("authorization", format!("Bearer {key}"));
        if let Some(body) = body {
            request = request.json(body);
        }
        self.http(request).await
    }

    /// GETs an API document, asserting 200.
    pub async fn get_ok(&mut self, key: &str, target: &str) -> Value {
        let response = self.api("GET", target, key, None).await;
        assert_eq!(response.status, 200, "GET {target}: {}", response.text());
        response.json()
    }

    /// Every item of a cursor-paginated API list.
    pub async fn list_all(&mut self, key: &str, path: &str) -> Vec<Value> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut target = format!("{path}{separator}limit=100");
        for _ in 0..1000 {
            let page = self.get_ok(key, &target).await;
            let page_items = page["items"]
                .as_array()
                .unwrap_or_else(|| panic!("GET {target}: no items in {page}"));
            items.extend(page_items.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    let cursor = serde_urlencoded::to_string([("cursor", cursor)])
                        .expect("a cursor encodes");
                    target = format!("{path}{separator}limit=100&{cursor}");
                }
                None => return items,
            }
        }
        panic!("GET {path}: more than 1000 pages");
    }

    /// Every conversation, whatever its status.
    pub async fn all_conversations(&mut self, key: &str) -> Vec<Value> {
        self.list_all(key, "/v1/conversations?status=all").await
    }

    /// The message items of a conversation's timeline, oldest first.
    pub async fn messages(&mut self, key: &str, conversation_id: &str) -> Vec<Value> {
        self.list_all(
            key,
            &format!("/v1/conversations/{conversation_id}/timeline"),
        )
        .await
        .into_iter()
        .filter(|item| item["item"] == "message")
        .collect()
    }

    pub fn queue_url(&self, source: Source) -> &str {
        match source {
            Source::Inbound => &self.cloud.settings.queues.inbound,
            Source::Outbound => &self.cloud.settings.queues.outbound,
            Source::Webhooks => &self.cloud.settings.queues.webhooks,
        }
    }

    pub fn dlq_url(&self, source: Source) -> &str {
        match source {
            Source::Inbound => &self.cloud.settings.queues.inbound_dlq,
            Source::Outbound => &self.cloud.settings.queues.outbound_dlq,
            Source::Webhooks => &self.cloud.settings.queues.webhooks_dlq,
        }
    }

    /// What the event source mapping receives: up to 10 messages, with every attribute.
    pub async fn receive(&self, source: Source) -> Vec<Message> {
        receive(&self.cloud.sqs, self.queue_url(source)).await
    }

    /// Invokes the queue's consumer with `messages` as one SQS event; returns the ids it
    /// reported failed.
    pub async fn invoke_consumer(&mut self, source: Source, messages: &[Message]) -> Vec<String> {
        let arn = queue_arn(&self.cloud.sqs, self.queue_url(source)).await;
        let event = sqs_event(&arn, messages);
        let function = match source {
            Source::Inbound => &mut self.router,
            Source::Outbound => &mut self.sender,
            Source::Webhooks => {
                if self.webhook_sender.is_none() {
                    self.webhook_sender = Some(Function::start("webhook-sender", &self.env).await);
                }
                self.webhook_sender.as_mut().expect("started")
            }
        };
        let answer = function.invoke_ok(event).await;
        let failures = answer["batchItemFailures"].as_array().unwrap_or_else(|| {
            panic!(
                "{} answered without batchItemFailures: {answer}",
                function.name
            )
        });
        failures
            .iter()
            .map(|f| {
                f["itemIdentifier"]
                    .as_str()
                    .unwrap_or_else(|| panic!("a failure without itemIdentifier: {answer}"))
                    .to_owned()
            })
            .collect()
    }

    /// Deletes the messages not reported failed, as the event source mapping does.
    pub async fn delete_successes(&self, source: Source, messages: &[Message], failed: &[String]) {
        let entries: Vec<_> = messages
            .iter()
            .filter(|m| !failed.iter().any(|f| Some(f.as_str()) == m.message_id()))
            .enumerate()
            .map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .expect("a delete entry")
            })
            .collect();
        if entries.is_empty() {
            return;
        }
        let out = self
            .cloud
            .sqs
            .delete_message_batch()
            .queue_url(self.queue_url(source))
            .set_entries(Some(entries))
            .send()
            .await
            .expect("DeleteMessageBatch");
        assert!(
            out.failed().is_empty(),
            "deletes failed: {:?}",
            out.failed()
        );
    }

    /// One pass of the event source mapping: receive, invoke, delete the successes.
    pub async fn deliver_batch(&mut self, source: Source) -> Batch {
        let messages = self.receive(source).await;
        if messages.is_empty() {
            return Batch::default();
        }
        let failed = self.invoke_consumer(source, &messages).await;
        self.delete_successes(source, &messages, &failed).await;
        Batch {
            received: messages
                .iter()
                .filter_map(|m| m.message_id().map(str::to_owned))
                .collect(),
            failed,
        }
    }

    /// Passes until the queue has nothing to hand out; returns how many deliveries the
    /// consumer saw.
    pub async fn drain(&mut self, source: Source) -> usize {
        let mut delivered = 0;
        for _ in 0..50 {
            let batch = self.deliver_batch(source).await;
            if batch.received.is_empty() {
                return delivered;
            }
            delivered += batch.received.len();
        }
        panic!("the {source:?} queue did not drain in 50 batches");
    }

    /// Plays the event-log function's event source mapping: the table's stream records
    /// written since the last call, through the template's filters, handed to a fresh
    /// `event-log` in batches. Returns how many records it was handed.
    pub async fn deliver_stream(&self, stream: &mut TableStream) -> usize {
        let batches = stream.next_batches().await;
        if batches.is_empty() {
            return 0;
        }
        let mut function = Function::start("event-log", &self.env).await;
        let mut handed = 0;
        for records in batches {
            handed += records.len();
            function
                .invoke_ok(serde_json::json!({ "Records": records }))
                .await;
        }
        handed
    }

    /// Invokes a sweeper on this stack's resources with a scheduled event.
    pub async fn sweep(&self) {
        self.sweep_with(&[]).await;
    }

    /// Invokes a sweeper with extra variables (a retention period), besides the stack's.
    pub async fn sweep_with(&self, extra: &[(&str, &str)]) {
        let mut env = self.env.clone();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut sweeper = Function::start("sweeper", &env).await;
        sweeper.invoke_ok(scheduled_event()).await;
    }
}

/// Up to 10 messages with every attribute, waiting up to a second.
pub async fn receive(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Message> {
    sqs.receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap_or_else(|e| panic!("ReceiveMessage on {url}: {e:?}"))
        .messages
        .unwrap_or_default()
}

/// How many messages a queue holds, visible or in flight.
pub async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetQueueAttributes on {url}: {e:?}"));
    let attributes = out.attributes().cloned().unwrap_or_default();
    [
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .filter_map(|a| attributes.get(a)?.parse::<u64>().ok())
    .sum()
}
