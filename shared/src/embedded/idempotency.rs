//! Idempotency keys in the queue's file, where the webhook that checks them also
//! enqueues: a keyed submission holds its key and joins the queue in one transaction.

use super::Embedded;
use super::db::sql;
use super::queue::insert_message;
use super::rows::millis;
use crate::ports::{Enqueue, IdempotencyStore, PortResult, QueueName, SendOnce};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

/// Expired keys removed by one call, so the cleanup never makes a request slow.
pub(super) const PURGE_BATCH: i64 = 100;
/// One call in this many also removes expired keys: far more than expire meanwhile,
/// without a delete statement on every submission's path.
const PURGE_EVERY: u32 = 16;

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
            .write(move |conn| hold(conn, &key, &value, expires_at).map(|(held, _)| held))
            .await
    }
}

#[async_trait::async_trait]
impl SendOnce for Embedded {
    async fn send_once(
        &self,
        key: &str,
        value: String,
        expires_at: DateTime<Utc>,
        message: Enqueue,
    ) -> PortResult<String> {
        let key = key.to_owned();
        self.queue
            .write(move |conn| {
                let (held, stored) = hold(conn, &key, &value, expires_at)?;
                if stored {
                    insert_message(conn, QueueName::Inbound, &message, Utc::now())?;
                }
                Ok(held)
            })
            .await
    }
}

/// Holds `value` under `key` unless it is held and not yet expired; returns the value
/// held and whether this call stored it.
fn hold(
    conn: &Connection,
    key: &str,
    value: &str,
    expires_at: DateTime<Utc>,
) -> PortResult<(String, bool)> {
    if rand::random_ratio(1, PURGE_EVERY) {
        conn.prepare_cached(
            "DELETE FROM idempotency_keys WHERE key IN
             (SELECT key FROM idempotency_keys WHERE expires_at <= ?1 LIMIT ?2)",
        )
        .and_then(|mut s| s.execute(params![millis(Utc::now()), PURGE_BATCH]))
        .map_err(sql)?;
    }
    let stored = conn
        .prepare_cached(
            "INSERT INTO idempotency_keys (key, value, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
             WHERE idempotency_keys.expires_at <= ?4",
        )
        .and_then(|mut s| {
            s.execute(params![
                key,
                value,
                millis(expires_at),
                millis(Utc::now())
            ])
        })
        .map_err(sql)?
        == 1;
    if stored {
        return Ok((value.to_owned(), true));
    }
    let held = conn
        .prepare_cached("SELECT value FROM idempotency_keys WHERE key = ?1")
        .and_then(|mut s| s.query_row([key], |r| r.get(0)))
        .map_err(sql)?;
    Ok((held, false))
}
