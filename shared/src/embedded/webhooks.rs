//! Webhook subscriptions and their delivery log.

use super::Embedded;
use super::cursor;
use super::db::sql;
use super::rows::{corrupt, json, millis, parse, time, to_json};
use crate::model::{Subscription, WebhookDelivery, WebhookDeliveryStatus, WebhookId};
use crate::ports::{MAX_REPLAY, Page, PageRequest, PortError, PortResult, WebhookStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

const WEBHOOK_COLUMNS: &str = "id, url, description, types, secret, enabled, disabled_reason, failures_in_a_row, created_at, updated_at, previous_secret, previous_secret_expires_at, version";
const DELIVERY_COLUMNS: &str =
    "id, webhook_id, change, status, attempts, last_attempt, next_attempt_at, created_at, replays";

fn webhook(row: &Row<'_>) -> rusqlite::Result<Subscription> {
    Ok(Subscription {
        id: parse("webhook id", &row.get::<_, String>(0)?)?,
        url: row.get(1)?,
        description: row.get(2)?,
        types: json("webhook types", &row.get::<_, String>(3)?)?,
        secret: row.get(4)?,
        enabled: row.get(5)?,
        disabled_reason: row.get(6)?,
        failures_in_a_row: row.get(7)?,
        created_at: time(row.get(8)?)?,
        updated_at: time(row.get(9)?)?,
        previous_secret: row.get(10)?,
        previous_secret_expires_at: row.get::<_, Option<i64>>(11)?.map(time).transpose()?,
        version: row.get::<_, i64>(12)?.try_into().unwrap_or_default(),
    })
}

fn delivery(row: &Row<'_>) -> rusqlite::Result<WebhookDelivery> {
    let status: String = row.get(3)?;
    Ok(WebhookDelivery {
        id: row.get(0)?,
        webhook_id: parse("webhook id", &row.get::<_, String>(1)?)?,
        change: json("delivery change", &row.get::<_, String>(2)?)?,
        status: WebhookDeliveryStatus::parse(&status)
            .ok_or_else(|| corrupt("delivery status", &status))?,
        attempts: row.get(4)?,
        last_attempt: row
            .get::<_, Option<String>>(5)?
            .map(|v| json("delivery attempt", &v))
            .transpose()?,
        next_attempt_at: row.get::<_, Option<i64>>(6)?.map(time).transpose()?,
        created_at: time(row.get(7)?)?,
        replays: row.get(8)?,
    })
}

#[async_trait]
impl WebhookStore for Embedded {
    async fn create_webhook(&self, w: &Subscription) -> PortResult<()> {
        let w = w.clone();
        self.db
            .write(move |conn| {
                conn.prepare_cached(&format!(
                    "INSERT INTO webhooks ({WEBHOOK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                ))
                .and_then(|mut s| {
                    s.execute(params![
                        w.id.to_string(),
                        w.url,
                        w.description,
                        to_json(&w.types),
                        w.secret,
                        w.enabled,
                        w.disabled_reason,
                        w.failures_in_a_row,
                        millis(w.created_at),
                        millis(w.updated_at),
                        w.previous_secret,
                        w.previous_secret_expires_at.map(millis),
                        i64::try_from(w.version).unwrap_or(i64::MAX),
                    ])
                })
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn webhook(&self, id: WebhookId) -> PortResult<Option<Subscription>> {
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?1"
                ))
                .and_then(|mut s| s.query_row([id.to_string()], webhook).optional())
                .map_err(sql)
            })
            .await
    }

    async fn list_webhooks(&self) -> PortResult<Vec<Subscription>> {
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id"
                ))
                .and_then(|mut s| s.query_map([], webhook)?.collect())
                .map_err(sql)
            })
            .await
    }

    async fn save_webhook(&self, w: &Subscription) -> PortResult<()> {
        let w = w.clone();
        self.db
            .write(move |conn| {
                let changed = conn
                    .prepare_cached(
                        "UPDATE webhooks SET url = ?2, description = ?3, types = ?4, enabled = ?5,
                            disabled_reason = ?6, failures_in_a_row = ?7, updated_at = ?8,
                            secret = ?9, previous_secret = ?10, previous_secret_expires_at = ?11,
                            version = version + 1
                         WHERE id = ?1 AND version = ?12",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            w.id.to_string(),
                            w.url,
                            w.description,
                            to_json(&w.types),
                            w.enabled,
                            w.disabled_reason,
                            w.failures_in_a_row,
                            millis(w.updated_at),
                            w.secret,
                            w.previous_secret,
                            w.previous_secret_expires_at.map(millis),
                            i64::try_from(w.version).unwrap_or(i64::MAX),
                        ])
                    })
                    .map_err(sql)?;
                if changed == 0 {
                    let exists = conn
                        .prepare_cached("SELECT 1 FROM webhooks WHERE id = ?1")
                        .and_then(|mut s| s.exists([w.id.to_string()]))
                        .map_err(sql)?;
                    return Err(if exists {
                        PortError::Conflict("the webhook changed since it was read".into())
                    } else {
                        PortError::NotFound
                    });
                }
                Ok(())
            })
            .await
    }

    async fn delete_webhook(&self, id: WebhookId) -> PortResult<bool> {
        self.db
            .write(move |conn| {
                let id = id.to_string();
                conn.execute(
                    "DELETE FROM webhook_deliveries WHERE webhook_id = ?1",
                    [&id],
                )
                .map_err(sql)?;
                let gone = conn
                    .execute("DELETE FROM webhooks WHERE id = ?1", [&id])
                    .map_err(sql)?;
                Ok(gone > 0)
            })
            .await
    }

    async fn count_result(
        &self,
        id: WebhookId,
        arrived: bool,
        disable_after: u32,
        reason: &str,
    ) -> PortResult<()> {
        let reason = reason.to_owned();
        self.db
            .write(move |conn| {
                let now = millis(Utc::now());
                let id = id.to_string();
                if arrived {
                    conn.prepare_cached(
                        "UPDATE webhooks SET failures_in_a_row = 0, version = version + 1
                         WHERE id = ?1 AND failures_in_a_row > 0",
                    )
                    .and_then(|mut s| s.execute([&id]))
                    .map_err(sql)?;
                } else {
                    conn.prepare_cached(
                        "UPDATE webhooks SET failures_in_a_row = failures_in_a_row + 1,
                            enabled = CASE WHEN failures_in_a_row + 1 >= ?2 THEN 0 ELSE enabled END,
                            disabled_reason = CASE WHEN failures_in_a_row + 1 >= ?2 AND enabled THEN ?3 ELSE disabled_reason END,
                            updated_at = ?4, version = version + 1
                         WHERE id = ?1",
                    )
                    .and_then(|mut s| s.execute(params![id, disable_after, reason, now]))
                    .map_err(sql)?;
                }
                Ok(())
            })
            .await
    }

    async fn add_deliveries(&self, deliveries: &[WebhookDelivery]) -> PortResult<()> {
        let deliveries = deliveries.to_vec();
        self.db
            .write(move |conn| {
                let mut insert = conn
                    .prepare_cached(&format!(
                        "INSERT OR IGNORE INTO webhook_deliveries ({DELIVERY_COLUMNS}, conversation_id, contact_id)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                    ))
                    .map_err(sql)?;
                for d in &deliveries {
                    insert
                        .execute(params![
                            d.id,
                            d.webhook_id.to_string(),
                            to_json(&d.change),
                            d.status.as_str(),
                            d.attempts,
                            d.last_attempt.as_ref().map(to_json),
                            d.next_attempt_at.map(millis),
                            millis(d.created_at),
                            d.replays,
                            d.change.conversation_id.map(|c| c.to_string()),
                            d.change.contact_id.map(|c| c.to_string()),
                        ])
                        .map_err(sql)?;
                }
                Ok(())
            })
            .await
    }

    async fn delivery(&self, webhook: WebhookId, id: &str) -> PortResult<Option<WebhookDelivery>> {
        let id = id.to_owned();
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ?1 AND webhook_id = ?2"
                ))
                .and_then(|mut s| s.query_row(params![id, webhook.to_string()], delivery).optional())
                .map_err(sql)
            })
            .await
    }

    async fn save_delivery(&self, d: &WebhookDelivery) -> PortResult<()> {
        let d = d.clone();
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE webhook_deliveries SET status = ?2, attempts = ?3, last_attempt = ?4,
                        next_attempt_at = ?5, replays = ?6
                     WHERE id = ?1",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        d.id,
                        d.status.as_str(),
                        d.attempts,
                        d.last_attempt.as_ref().map(to_json),
                        d.next_attempt_at.map(millis),
                        d.replays,
                    ])
                })
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn list_deliveries(
        &self,
        webhook: WebhookId,
        status: Option<WebhookDeliveryStatus>,
        page: &PageRequest,
    ) -> PortResult<Page<WebhookDelivery>> {
        let before = page.cursor.as_deref().map(cursor::decode).transpose()?;
        let limit = page.limit as usize;
        self.db
            .read(move |conn| {
                let (before_ms, before_id) = before.unwrap_or((i64::MAX, String::new()));
                let mut items: Vec<WebhookDelivery> = conn
                    .prepare_cached(&format!(
                        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
                         WHERE webhook_id = ?1 AND (?2 IS NULL OR status = ?2)
                           AND (created_at < ?3 OR (created_at = ?3 AND ?4 != '' AND id < ?4))
                         ORDER BY created_at DESC, id DESC LIMIT ?5"
                    ))
                    .and_then(|mut s| {
                        s.query_map(
                            params![
                                webhook.to_string(),
                                status.map(|s| s.as_str()),
                                before_ms,
                                before_id,
                                (limit + 1) as i64
                            ],
                            delivery,
                        )?
                        .collect()
                    })
                    .map_err(sql)?;
                let next_cursor = (items.len() > limit).then(|| {
                    let last = &items[limit - 1];
                    cursor::encode(millis(last.created_at), &last.id)
                });
                items.truncate(limit);
                Ok(Page { items, next_cursor })
            })
            .await
    }

    async fn deliveries_since(
        &self,
        webhook: WebhookId,
        since: DateTime<Utc>,
    ) -> PortResult<Vec<WebhookDelivery>> {
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
                     WHERE webhook_id = ?1 AND created_at >= ?2
                     ORDER BY created_at, id LIMIT ?3"
                ))
                .and_then(|mut s| {
                    s.query_map(
                        params![webhook.to_string(), millis(since), MAX_REPLAY as i64],
                        delivery,
                    )?
                    .collect()
                })
                .map_err(sql)
            })
            .await
    }

    async fn forget_deliveries_before(&self, before: DateTime<Utc>) -> PortResult<u64> {
        self.db
            .write(move |conn| {
                conn.execute(
                    "DELETE FROM webhook_deliveries WHERE created_at < ?1 AND status != 'pending'",
                    [millis(before)],
                )
                .map(|n| n as u64)
                .map_err(sql)
            })
            .await
    }
}
