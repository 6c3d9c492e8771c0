use super::{Page, PageRequest, PortResult};
use crate::model::{Subscription, WebhookDelivery, WebhookDeliveryStatus, WebhookId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Most deliveries one replay "since a time" sends again.
pub const MAX_REPLAY: usize = 1_000;

/// Webhook subscriptions and their delivery log.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_webhook(&self, webhook: &Subscription) -> PortResult<()>;
    async fn webhook(&self, id: WebhookId) -> PortResult<Option<Subscription>>;
    /// Every subscription, oldest first (a team has a handful).
    async fn list_webhooks(&self) -> PortResult<Vec<Subscription>>;
    /// Saves it over the version it was read at (`webhook.version`), as the next
    /// version: `Conflict` when it changed since, `NotFound` when it was deleted.
    async fn save_webhook(&self, webhook: &Subscription) -> PortResult<()>;
    /// Deletes it and its delivery log; false when there was none.
    async fn delete_webhook(&self, id: WebhookId) -> PortResult<bool>;
    /// Counts a delivery that arrived (the count of failures in a row starts again) or
    /// failed for good; at `disable_after` failures in a row the subscription is turned
    /// off with `reason`. Each change makes a new version.
    async fn count_result(
        &self,
        id: WebhookId,
        arrived: bool,
        disable_after: u32,
        reason: &str,
    ) -> PortResult<()>;

    /// Records the deliveries not recorded yet (by id); the others stay as they are.
    async fn add_deliveries(&self, deliveries: &[WebhookDelivery]) -> PortResult<()>;
    async fn delivery(&self, webhook: WebhookId, id: &str) -> PortResult<Option<WebhookDelivery>>;
    async fn save_delivery(&self, delivery: &WebhookDelivery) -> PortResult<()>;
    /// A subscription's delivery log, newest first.
    async fn list_deliveries(
        &self,
        webhook: WebhookId,
        status: Option<WebhookDeliveryStatus>,
        page: &PageRequest,
    ) -> PortResult<Page<WebhookDelivery>>;
    /// Its deliveries made at or after `since`, oldest first, at most [`MAX_REPLAY`].
    async fn deliveries_since(
        &self,
        webhook: WebhookId,
        since: DateTime<Utc>,
    ) -> PortResult<Vec<WebhookDelivery>>;
    /// Forgets the deliveries made before `before` that are no longer pending.
    async fn forget_deliveries_before(&self, before: DateTime<Utc>) -> PortResult<u64>;
}
