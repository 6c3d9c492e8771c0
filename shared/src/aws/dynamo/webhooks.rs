//! Webhook subscriptions (`pk=WEBHOOKS`, `sk=WH#<id>`: one partition, read whole by the
//! fan-out with a consistent read and no index) and their delivery log
//! (`pk=WHD#<delivery id>`; a subscription's in gsi1 `WHDL#<webhook>` by when they were
//! made; in gsi2 `WHDS#<conversation, else contact>`, for an erasure to find). A delivery
//! expires with the event log (TTL `expires_at`, 7 days); an erasure deletes those about
//! what it erases, with what their endpoints answered.

use super::list::{Source, decode_cursor, encode_cursor};
use super::{DynamoStore, Item, errors, items, keys, n, s};
use crate::model::{Subscription, WebhookDelivery, WebhookDeliveryStatus, WebhookId};
use crate::ports::{
    LOG_RETENTION, MAX_REPLAY, Page, PageRequest, PortError, PortResult, WebhookStore,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
use chrono::{DateTime, Utc};

const NEW: Option<&str> = Some("attribute_not_exists(pk)");
/// Deliveries a delete takes along at once; a longer log is left to the TTL.
const DELETED_WITH_IT: usize = 2_000;
/// Deliveries read per page of a delete.
const DELETE_PAGE: i32 = 200;
const EXISTS: Option<&str> = Some("attribute_exists(pk)");
/// Deletes per `BatchWriteItem`.
const DELETE_BATCH: usize = 25;

fn webhook_item(w: &Subscription) -> PortResult<Item> {
    let mut item = items::to_item(w)?;
    item.insert("pk".into(), s(keys::WEBHOOKS));
    item.insert("sk".into(), s(keys::webhook(w.id)));
    // The model never shows its secrets; the item keeps them.
    item.insert("secret".into(), s(w.secret.clone()));
    if let Some(previous) = &w.previous_secret {
        item.insert("previous_secret".into(), s(previous.clone()));
    }
    Ok(item)
}

/// The secrets are read back with the rest (they are only kept from the model's JSON).
fn webhook_of(item: Item) -> PortResult<Subscription> {
    items::from_item(item)
}

fn delivery_item(d: &WebhookDelivery) -> PortResult<Item> {
    let mut item = items::to_item(d)?;
    let created = d.created_at.timestamp_millis();
    item.insert("pk".into(), s(keys::webhook_delivery(&d.id)));
    item.insert("sk".into(), s(keys::META));
    item.insert("gsi1pk".into(), s(keys::webhook_log(d.webhook_id)));
    item.insert("gsi1sk".into(), s(keys::webhook_log_order(created, &d.id)));
    // Kept 7 days from its last activity: a delivery tried (or replayed) late stays
    // while its job may still be on the queue.
    let last_active = [
        Some(d.created_at),
        d.next_attempt_at,
        d.last_attempt.as_ref().map(|a| a.at),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(d.created_at);
    item.insert(
        "expires_at".into(),
        n((last_active + LOG_RETENTION).timestamp()),
    );
    if let Some(subject) = d.change.subject() {
        item.insert("gsi2pk".into(), s(keys::webhook_subject(&subject)));
        item.insert("gsi2sk".into(), s(d.id.clone()));
    }
    Ok(item)
}

impl DynamoStore {
    /// Deletes every delivery about `subject` (a conversation's or a contact's id), for
    /// an erasure of it. Repeatable.
    pub(super) async fn forget_deliveries_about(&self, subject: &str) -> PortResult<()> {
        let doomed: Vec<(String, String)> = self
            .index_partition("gsi2", &keys::webhook_subject(subject))
            .await?
            .iter()
            .filter_map(|item| Some((items::string(item, "pk")?, keys::META.to_owned())))
            .collect();
        self.delete_keys(doomed).await
    }

    async fn delete_keys(&self, keys: Vec<(String, String)>) -> PortResult<()> {
        for chunk in keys.chunks(DELETE_BATCH) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|(pk, sk)| {
                    DeleteRequest::builder()
                        .key("pk", s(pk.clone()))
                        .key("sk", s(sk.clone()))
                        .build()
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                        .map_err(|e| PortError::Internal(e.to_string()))
                })
                .collect::<PortResult<_>>()?;
            // What DynamoDB leaves unprocessed (throttled) is sent again, a few times.
            for _ in 0..5 {
                if requests.is_empty() {
                    break;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| errors::sdk("dynamodb:BatchWriteItem", e))?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&self.table))
                    .unwrap_or_default();
            }
            if !requests.is_empty() {
                return Err(PortError::Unavailable(
                    "DynamoDB kept refusing some deletes".into(),
                ));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl WebhookStore for DynamoStore {
    async fn create_webhook(&self, webhook: &Subscription) -> PortResult<()> {
        self.put(webhook_item(webhook)?, NEW).await
    }

    async fn webhook(&self, id: WebhookId) -> PortResult<Option<Subscription>> {
        self.get(keys::WEBHOOKS, &keys::webhook(id))
            .await?
            .map(webhook_of)
            .transpose()
    }

    async fn list_webhooks(&self) -> PortResult<Vec<Subscription>> {
        self.partition(keys::WEBHOOKS)
            .await?
            .into_iter()
            .map(webhook_of)
            .collect()
    }

    async fn save_webhook(&self, webhook: &Subscription) -> PortResult<()> {
        let item = webhook_item(&Subscription {
            version: webhook.version + 1,
            ..webhook.clone()
        })?;
        let saved = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("version = :read")
            .expression_attribute_values(":read", n(webhook.version))
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:PutItem", e));
        match saved {
            Ok(_) => Ok(()),
            Err(PortError::Conflict(_)) => match self.webhook(webhook.id).await? {
                Some(_) => Err(PortError::Conflict(
                    "the webhook changed since it was read".into(),
                )),
                None => Err(PortError::NotFound),
            },
            Err(e) => Err(e),
        }
    }

    /// The subscription goes first (its queued deliveries then find nothing to send),
    /// then its log, page by page, up to [`DELETED_WITH_IT`] deliveries; the table's TTL
    /// takes the rest of a very busy log within its 7 days.
    async fn delete_webhook(&self, id: WebhookId) -> PortResult<bool> {
        let Some(_) = self.get(keys::WEBHOOKS, &keys::webhook(id)).await? else {
            return Ok(false);
        };
        self.delete_keys(vec![(keys::WEBHOOKS.to_owned(), keys::webhook(id))])
            .await?;
        let mut start = None;
        let mut deleted = 0;
        while deleted < DELETED_WITH_IT {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi1")
                .key_condition_expression("gsi1pk = :pk")
                .expression_attribute_values(":pk", s(keys::webhook_log(id)))
                .projection_expression("pk")
                .limit(DELETE_PAGE)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| errors::sdk("dynamodb:Query", e))?;
            let doomed: Vec<(String, String)> = out
                .items
                .unwrap_or_default()
                .iter()
                .filter_map(|item| Some((items::string(item, "pk")?, keys::META.to_owned())))
                .collect();
            deleted += doomed.len();
            self.delete_keys(doomed).await?;
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(true)
    }

    async fn count_result(
        &self,
        id: WebhookId,
        arrived: bool,
        disable_after: u32,
        reason: &str,
    ) -> PortResult<()> {
        let update = || {
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(keys::WEBHOOKS))
                .key("sk", s(keys::webhook(id)))
                .expression_attribute_values(":one", n(1))
        };
        let ignore_condition = |result: PortResult<()>| match result {
            // Gone, nothing to reset, or turned off already.
            Ok(()) | Err(PortError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        };
        if arrived {
            let reset = update()
                .update_expression("SET failures_in_a_row = :zero ADD version :one")
                .condition_expression("attribute_exists(pk) AND failures_in_a_row > :zero")
                .expression_attribute_values(":zero", n(0))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| errors::sdk("dynamodb:UpdateItem", e));
            return ignore_condition(reset);
        }
        let counted = update()
            .update_expression("ADD failures_in_a_row :one, version :one SET updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", s(Utc::now().to_rfc3339()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:UpdateItem", e));
        let counted = match counted {
            Ok(counted) => counted,
            Err(PortError::Conflict(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let failures = counted
            .attributes
            .as_ref()
            .and_then(|a| items::number(a, "failures_in_a_row"))
            .unwrap_or_default();
        if failures < u64::from(disable_after) {
            return Ok(());
        }
        // Off, unless a delivery that arrived meanwhile started the count again; the
        // condition keeps the first reason.
        let off = update()
            .update_expression("SET enabled = :off, disabled_reason = :why ADD version :one")
            .condition_expression("enabled = :on AND failures_in_a_row >= :limit")
            .expression_attribute_values(":on", AttributeValue::Bool(true))
            .expression_attribute_values(":off", AttributeValue::Bool(false))
            .expression_attribute_values(":why", s(reason))
            .expression_attribute_values(":limit", n(disable_after))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| errors::sdk("dynamodb:UpdateItem", e));
        ignore_condition(off)
    }

    async fn add_deliveries(&self, deliveries: &[WebhookDelivery]) -> PortResult<()> {
        let puts = deliveries.iter().map(|d| async move {
            match self.put(delivery_item(d)?, NEW).await {
                // Recorded before: it stays as it is.
                Ok(()) | Err(PortError::Conflict(_)) => Ok(()),
                Err(e) => Err(e),
            }
        });
        futures::future::try_join_all(puts).await?;
        Ok(())
    }

    async fn delivery(&self, webhook: WebhookId, id: &str) -> PortResult<Option<WebhookDelivery>> {
        let Some(item) = self.get(&keys::webhook_delivery(id), keys::META).await? else {
            return Ok(None);
        };
        let delivery: WebhookDelivery = items::from_item(item)?;
        Ok((delivery.webhook_id == webhook).then_some(delivery))
    }

    async fn save_delivery(&self, delivery: &WebhookDelivery) -> PortResult<()> {
        match self.put(delivery_item(delivery)?, EXISTS).await {
            // Deleted meanwhile (its subscription was): nothing to save.
            Ok(()) | Err(PortError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn list_deliveries(
        &self,
        webhook: WebhookId,
        status: Option<WebhookDeliveryStatus>,
        page: &PageRequest,
    ) -> PortResult<Page<WebhookDelivery>> {
        let below = page.cursor.as_deref().map(decode_cursor).transpose()?;
        let sources = [Source {
            index: "gsi1",
            pk: keys::webhook_log(webhook),
        }];
        let wanted = status.map(|s| s.as_str());
        let listed = self
            .list_desc(&sources, below.as_deref(), page.limit as usize, |item| {
                wanted.is_none_or(|w| items::string(item, "status").as_deref() == Some(w))
            })
            .await?;
        Ok(Page {
            next_cursor: listed.next.as_deref().map(encode_cursor),
            items: listed
                .items
                .into_iter()
                .map(items::from_item)
                .collect::<PortResult<_>>()?,
        })
    }

    async fn deliveries_since(
        &self,
        webhook: WebhookId,
        since: DateTime<Utc>,
    ) -> PortResult<Vec<WebhookDelivery>> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi1")
                .key_condition_expression("gsi1pk = :pk AND gsi1sk >= :from")
                .expression_attribute_values(":pk", s(keys::webhook_log(webhook)))
                .expression_attribute_values(
                    ":from",
                    s(format!("{:013}", since.timestamp_millis().max(0))),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| errors::sdk("dynamodb:Query", e))?;
            for item in out.items.unwrap_or_default() {
                found.push(items::from_item(item)?);
                if found.len() == MAX_REPLAY {
                    return Ok(found);
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    /// The table's TTL removes them (`expires_at`).
    async fn forget_deliveries_before(&self, _before: DateTime<Utc>) -> PortResult<u64> {
        Ok(0)
    }
}
