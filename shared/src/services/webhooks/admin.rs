//! What admins do with webhooks: subscriptions, a test ping, the delivery log, replays.

use super::DeliveryJob;
use super::signing::new_secret;
use super::target::TargetPolicy;
use crate::model::{
    Change, ChangeType, MAX_TYPES, Subscription, WebhookDelivery, WebhookDeliveryStatus, WebhookId,
};
use crate::ports::{Page, PageRequest, Queue, QueueName, WebhookStore};
use crate::services::error::{ServiceError, ServiceResult};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Longest description a subscription may have.
pub const MAX_DESCRIPTION_CHARS: usize = 200;

/// Most subscriptions an installation may have: each change goes to every one.
pub const MAX_WEBHOOKS: usize = 20;

/// Reads and saves of one change before it gives up on a subscription that keeps changing.
const SAVE_ATTEMPTS: usize = 5;

/// How long a rotated-out secret still signs deliveries beside the new one.
pub const PREVIOUS_SECRET_LASTS: chrono::TimeDelta = chrono::TimeDelta::hours(24);

#[derive(Clone)]
pub struct Webhooks {
    pub store: Arc<dyn WebhookStore>,
    pub queue: Arc<dyn Queue>,
    /// Where a subscription may point.
    pub targets: Arc<TargetPolicy>,
}

#[derive(Clone, Debug, Default)]
pub struct NewWebhook {
    pub url: String,
    pub description: Option<String>,
    pub types: Vec<ChangeType>,
    pub enabled: bool,
}

/// A change to a subscription; absent fields stay. `Some(None)` clears.
#[derive(Clone, Debug, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub types: Option<Vec<ChangeType>>,
    pub enabled: Option<bool>,
}

impl Webhooks {
    fn check_url(&self, url: &str) -> ServiceResult<String> {
        self.targets
            .check_url(url.trim())
            .map(|u| u.to_string())
            .map_err(|reason| ServiceError::Invalid(format!("url: {reason}")))
    }

    fn check_description(text: Option<String>) -> ServiceResult<Option<String>> {
        let text = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_DESCRIPTION_CHARS)
        {
            return Err(ServiceError::Invalid(format!(
                "description: at most {MAX_DESCRIPTION_CHARS} characters"
            )));
        }
        Ok(text)
    }

    fn check_types(mut types: Vec<ChangeType>) -> ServiceResult<Vec<ChangeType>> {
        if types.contains(&ChangeType::WebhookPing) {
            return Err(ServiceError::Invalid(
                "types: `webhook.ping` goes only where a ping is sent".into(),
            ));
        }
        if types.len() > MAX_TYPES {
            return Err(ServiceError::Invalid(format!("types: at most {MAX_TYPES}")));
        }
        types.sort_by_key(|t| t.as_str());
        types.dedup();
        Ok(types)
    }

    /// A new subscription, with its secret (shown to the admin this once).
    pub async fn create(&self, new: NewWebhook) -> ServiceResult<Subscription> {
        if self.store.list_webhooks().await?.len() >= MAX_WEBHOOKS {
            return Err(ServiceError::Conflict(format!(
                "there are {MAX_WEBHOOKS} webhooks already, the most there may be"
            )));
        }
        let now = Utc::now();
        let webhook = Subscription {
            id: WebhookId::new(),
            url: self.check_url(&new.url)?,
            description: Self::check_description(new.description)?,
            types: Self::check_types(new.types)?,
            secret: new_secret(),
            previous_secret: None,
            previous_secret_expires_at: None,
            enabled: new.enabled,
            disabled_reason: None,
            failures_in_a_row: 0,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        self.store.create_webhook(&webhook).await?;
        Ok(webhook)
    }

    pub async fn list(&self) -> ServiceResult<Vec<Subscription>> {
        Ok(self.store.list_webhooks().await?)
    }

    pub async fn get(&self, id: WebhookId) -> ServiceResult<Subscription> {
        self.store
            .webhook(id)
            .await?
            .ok_or(ServiceError::NotFound("webhook"))
    }

    /// Turning a subscription on again clears why it was turned off and its count of
    /// failures.
    pub async fn patch(&self, id: WebhookId, patch: WebhookPatch) -> ServiceResult<Subscription> {
        let url = patch.url.map(|u| self.check_url(&u)).transpose()?;
        let description = patch.description.map(Self::check_description).transpose()?;
        let types = patch.types.map(Self::check_types).transpose()?;
        self.change(id, |webhook| {
            if let Some(url) = &url {
                webhook.url = url.clone();
            }
            if let Some(description) = &description {
                webhook.description = description.clone();
            }
            if let Some(types) = &types {
                webhook.types = types.clone();
            }
            if let Some(enabled) = patch.enabled {
                if enabled && !webhook.enabled {
                    webhook.disabled_reason = None;
                    webhook.failures_in_a_row = 0;
                }
                webhook.enabled = enabled;
            }
        })
        .await
    }

    /// A new secret, shown this once; the old one signs beside it for
    /// [`PREVIOUS_SECRET_LASTS`], so the endpoint can change over.
    pub async fn rotate_secret(&self, id: WebhookId) -> ServiceResult<Subscription> {
        let secret = new_secret();
        self.change(id, |webhook| {
            webhook.previous_secret = Some(std::mem::replace(&mut webhook.secret, secret.clone()));
            webhook.previous_secret_expires_at = Some(Utc::now() + PREVIOUS_SECRET_LASTS);
        })
        .await
    }

    /// Reads the subscription, applies `apply` and saves it over the version read; when
    /// the sender counted a failure meanwhile, reads it again and applies it again.
    async fn change(
        &self,
        id: WebhookId,
        apply: impl Fn(&mut Subscription),
    ) -> ServiceResult<Subscription> {
        for _ in 0..SAVE_ATTEMPTS {
            let mut webhook = self.get(id).await?;
            apply(&mut webhook);
            webhook.updated_at = Utc::now();
            match self.store.save_webhook(&webhook).await {
                Ok(()) => {
                    webhook.version += 1;
                    return Ok(webhook);
                }
                Err(crate::ports::PortError::Conflict(_)) => continue,
                Err(crate::ports::PortError::NotFound) => {
                    return Err(ServiceError::NotFound("webhook"));
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(ServiceError::Conflict(
            "the webhook kept changing; try again".into(),
        ))
    }

    pub async fn delete(&self, id: WebhookId) -> ServiceResult<()> {
        if self.store.delete_webhook(id).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound("webhook"))
        }
    }

    /// Queues a `webhook.ping` for the subscription, which goes the way every delivery
    /// goes (signed, tried again, in the delivery log): the log tells what the endpoint
    /// answered, a moment later.
    pub async fn ping(&self, id: WebhookId) -> ServiceResult<WebhookDelivery> {
        let webhook = self.get(id).await?;
        Self::check_on(&webhook)?;
        let now = Utc::now();
        let delivery = WebhookDelivery::new(webhook.id, Change::ping(now), now);
        self.store
            .add_deliveries(std::slice::from_ref(&delivery))
            .await?;
        self.queue
            .send(
                QueueName::Webhooks,
                vec![DeliveryJob::of(&delivery).enqueue(delivery.id.clone())],
            )
            .await?;
        Ok(delivery)
    }

    pub async fn deliveries(
        &self,
        id: WebhookId,
        status: Option<WebhookDeliveryStatus>,
        page: &PageRequest,
    ) -> ServiceResult<Page<WebhookDelivery>> {
        self.get(id).await?;
        Ok(self.store.list_deliveries(id, status, page).await?)
    }

    /// Sends one delivery again, with the same `Webhook-Id`, whatever became of it.
    pub async fn replay(&self, id: WebhookId, delivery_id: &str) -> ServiceResult<WebhookDelivery> {
        let webhook = self.get(id).await?;
        let delivery = self
            .store
            .delivery(id, delivery_id)
            .await?
            .ok_or(ServiceError::NotFound("delivery"))?;
        Self::check_on(&webhook)?;
        let mut replayed = self.requeue(vec![delivery]).await?;
        Ok(replayed.remove(0))
    }

    /// Sends again every delivery made since `since` (at most [`crate::ports::MAX_REPLAY`]),
    /// oldest first; returns how many.
    pub async fn replay_since(&self, id: WebhookId, since: DateTime<Utc>) -> ServiceResult<usize> {
        let webhook = self.get(id).await?;
        Self::check_on(&webhook)?;
        let deliveries = self.store.deliveries_since(id, since).await?;
        Ok(self.requeue(deliveries).await?.len())
    }

    fn check_on(webhook: &Subscription) -> ServiceResult<()> {
        if webhook.enabled {
            Ok(())
        } else {
            Err(ServiceError::Conflict(
                "the webhook is turned off: turn it on first".into(),
            ))
        }
    }

    async fn requeue(
        &self,
        deliveries: Vec<WebhookDelivery>,
    ) -> ServiceResult<Vec<WebhookDelivery>> {
        let now = Utc::now();
        let mut jobs = Vec::with_capacity(deliveries.len());
        let mut replayed = Vec::with_capacity(deliveries.len());
        for mut delivery in deliveries {
            delivery.status = WebhookDeliveryStatus::Pending;
            delivery.replays += 1;
            delivery.attempts = 0;
            delivery.next_attempt_at = Some(now);
            self.store.save_delivery(&delivery).await?;
            jobs.push(
                // Never the key of an earlier replay, which a FIFO queue would drop.
                DeliveryJob::of(&delivery).enqueue(format!(
                    "{}:replay:{}",
                    delivery.id,
                    crate::model::next_ulid()
                )),
            );
            replayed.push(delivery);
        }
        if !jobs.is_empty() {
            self.queue.send(QueueName::Webhooks, jobs).await?;
        }
        Ok(replayed)
    }
}
