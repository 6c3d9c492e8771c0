//! Idempotency keys in the queue's file, where the webhook that checks them also
//! enqueues: both writes go through one writer and share its group commits.

use super::Embedded;
use super::db::sql;
use super::rows::millis;
use crate::ports::{IdempotencyStore, PortResult};
use chrono::{DateTime, Utc};
use rusqlite::params;

/// Expired keys removed by one call, so the cleanup never makes a request slow.
pub(super) const PURGE_BATCH: i64 = 100;

#[async_trait::async_trait]
impl IdempotencyStore for Embedded {
    async fn remember(
        &self,
        key: &str,
        value: String,
        expires_at: DateTime<Utc>,
    ) -> PortResult<String> {
        let key = key.to_owned();
        self.queue
            .write(move |conn| {
                let now = millis(Utc::now());
                conn.prepare_cached(
                    "DELETE FROM idempotency_keys WHERE key IN
                     (SELECT key FROM idempotency_keys WHERE expires_at <= ?1 LIMIT ?2)",
                )
                .and_then(|mut s| s.execute(params![now, PURGE_BATCH]))
                .map_err(sql)?;
                conn.prepare_cached(
                    "INSERT OR IGNORE INTO idempotency_keys (key, value, expires_at) VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut s| s.execute(params![key, value, millis(expires_at)]))
                .map_err(sql)?;
                conn.prepare_cached("SELECT value FROM idempotency_keys WHERE key = ?1")
                    .and_then(|mut s| s.query_row([&key], |r| r.get(0)))
                    .map_err(sql)
            })
            .await
    }
}
