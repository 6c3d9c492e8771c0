//! Tries one queued delivery: signs and POSTs it, records the try, and says when to
//! try again.

use super::DeliveryJob;
use super::payload::PayloadReader;
use super::post::WebhookClient;
use super::retry::{DISABLE_AFTER_FAILURES, RetrySchedule, Verdict, verdict};
use crate::model::{AttemptOutcome, ChangeType, WebhookDelivery, WebhookDeliveryStatus};
use crate::ports::{Delivery, PortResult, WebhookStore};
use crate::services::worker::{Handled, backoff};
use std::sync::Arc;

pub struct WebhookDeliverer {
    pub store: Arc<dyn WebhookStore>,
    pub payloads: PayloadReader,
    pub client: Arc<WebhookClient>,
    pub schedule: RetrySchedule,
}

impl WebhookDeliverer {
    /// Tries one delivery from the queue.
    pub async fn handle(&self, queued: Delivery) -> Handled {
        match self.deliver(&queued).await {
            Ok(handled) => handled,
            Err(e) => Handled::Retry {
                after: backoff(queued.receive_count),
                reason: e.to_string(),
            },
        }
    }

    async fn deliver(&self, queued: &Delivery) -> PortResult<Handled> {
        let Ok(job) = serde_json::from_slice::<DeliveryJob>(&queued.body) else {
            tracing::warn!(id = queued.id, "not a webhook delivery job; dropped");
            return Ok(Handled::Done);
        };
        // Gone (the subscription was deleted, or what it told of erased) or settled
        // already (a job queued twice, a replay of one that arrived meanwhile).
        let Some(mut delivery) = self
            .store
            .delivery(job.webhook_id, &job.delivery_id)
            .await?
            .filter(|d| d.status == WebhookDeliveryStatus::Pending)
        else {
            return Ok(Handled::Done);
        };
        let Some(webhook) = self.store.webhook(job.webhook_id).await? else {
            return Ok(Handled::Done);
        };
        if !webhook.enabled {
            delivery.status = WebhookDeliveryStatus::Failed;
            delivery.next_attempt_at = None;
            delivery.last_attempt = Some(AttemptOutcome {
                at: chrono::Utc::now(),
                response_status: None,
                response: Some("not sent: the webhook is turned off".into()),
                duration_ms: 0,
            });
            self.store.save_delivery(&delivery).await?;
            return Ok(Handled::Done);
        }
        let body = self.payloads.body(&delivery.change).await?;
        let posted = self.client.post(&webhook, &delivery.id, body).await;
        let status = posted.outcome.response_status;
        let reason = describe(&posted.outcome);
        delivery.attempts += 1;
        delivery.last_attempt = Some(posted.outcome);
        delivery.next_attempt_at = None;
        // A ping is one try, and says nothing of how the subscription fares.
        let ping = delivery.change.kind == ChangeType::WebhookPing;
        let handled = match verdict(status) {
            Verdict::Delivered => {
                delivery.status = WebhookDeliveryStatus::Delivered;
                Handled::Done
            }
            Verdict::Transient if ping => {
                delivery.status = WebhookDeliveryStatus::Failed;
                Handled::Done
            }
            Verdict::Transient => match self
                .schedule
                .next_wait(delivery.attempts, posted.retry_after)
            {
                Some(wait) => {
                    delivery.next_attempt_at = Some(
                        chrono::Utc::now() + chrono::TimeDelta::from_std(wait).unwrap_or_default(),
                    );
                    Handled::Retry {
                        after: wait,
                        reason: reason.clone(),
                    }
                }
                None => {
                    delivery.status = WebhookDeliveryStatus::Failed;
                    Handled::Done
                }
            },
            Verdict::Final => {
                delivery.status = WebhookDeliveryStatus::Failed;
                Handled::Done
            }
        };
        self.store.save_delivery(&delivery).await?;
        let counted = match delivery.status {
            _ if ping => Ok(()),
            WebhookDeliveryStatus::Delivered => {
                self.store
                    .count_result(webhook.id, true, DISABLE_AFTER_FAILURES, "")
                    .await
            }
            WebhookDeliveryStatus::Failed => {
                let why = format!(
                    "turned off after {DISABLE_AFTER_FAILURES} deliveries in a row failed; the last: {reason}"
                );
                self.store
                    .count_result(webhook.id, false, DISABLE_AFTER_FAILURES, &why)
                    .await
            }
            WebhookDeliveryStatus::Pending => Ok(()),
        };
        // The try is saved: failing it now would try it again, and count nothing then.
        if let Err(e) = counted {
            tracing::error!(webhook = %webhook.id, error = %e, "counting a delivery's result failed");
        }
        log(&delivery);
        Ok(handled)
    }
}

/// A try in a few words: the status and the start of the answer, or what went wrong.
fn describe(outcome: &AttemptOutcome) -> String {
    let answer: String = outcome
        .response
        .as_deref()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    match outcome.response_status {
        Some(status) if answer.is_empty() => format!("HTTP {status}"),
        Some(status) => format!("HTTP {status}: {answer}"),
        None => answer,
    }
}

fn log(delivery: &WebhookDelivery) {
    tracing::info!(
        webhook = %delivery.webhook_id,
        delivery = delivery.id,
        r#type = delivery.change.kind.as_str(),
        status = delivery.status.as_str(),
        attempts = delivery.attempts,
        "webhook delivery tried"
    );
}
