//! A durable queue in the same SQLite file: visibility timeouts, receive counts, and a
//! dead-letter state after its queue's `max_receives` deliveries, like SQS with a redrive policy.

use super::Embedded;
use super::cursor;
use super::db::sql;
use super::idempotency::DONE;
use super::rows::time;
use crate::ports::{
    DeadLetter, Delivery, Enqueue, Page, PageRequest, PortResult, Queue, QueueName,
};
use async_trait::async_trait;
use chrono::Utc;
use rusqlite::params;
use std::time::Duration;

/// The row a receipt (`<id>.<random>`) names; receipts are looked up by primary key.
fn receipt_id(receipt: &str) -> Option<i64> {
    receipt.split_once('.')?.0.parse().ok()
}

/// Puts `message` on `queue` unless one with its dedup key is there.
pub(super) fn insert_message(
    conn: &rusqlite::Connection,
    queue: QueueName,
    message: &Enqueue,
    now: chrono::DateTime<Utc>,
) -> PortResult<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO queue_messages (queue, grp, dedup, body, enqueued_at, visible_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            queue.as_str(),
            message.group,
            message.dedup,
            message.body,
            now.timestamp_millis()
        ])
    })
    .map_err(sql)?;
    Ok(())
}

#[async_trait]
impl Queue for Embedded {
    async fn send(&self, queue: QueueName, messages: Vec<Enqueue>) -> PortResult<()> {
        self.queue
            .write(move |conn| {
                let now = Utc::now();
                for m in &messages {
                    insert_message(conn, queue, m, now)?;
                }
                Ok(())
            })
            .await
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> PortResult<Vec<Delivery>> {
        let hidden_for = i64::try_from(visibility.as_millis()).unwrap_or(i64::MAX / 2);
        // An idle consumer polls often: look with a read first, so an empty poll costs no
        // write transaction and no fsync.
        // An ordered queue's message waiting behind an earlier one of its group does not
        // count: a group held for hours costs no write a poll.
        let exists = if queue.keeps_group_order() {
            "SELECT EXISTS (SELECT 1 FROM queue_messages AS m WHERE queue = ?1 AND dead = 0 AND visible_at <= ?2
                AND NOT EXISTS (SELECT 1 FROM queue_messages AS e
                    WHERE e.queue = m.queue AND e.grp = m.grp AND e.dead = 0 AND e.id < m.id))"
        } else {
            "SELECT EXISTS (SELECT 1 FROM queue_messages WHERE queue = ?1 AND dead = 0 AND visible_at <= ?2)"
        };
        let ready = self
            .queue
            .read(move |conn| {
                conn.prepare_cached(exists)
                    .and_then(|mut s| {
                        s.query_row(
                            params![queue.as_str(), Utc::now().timestamp_millis()],
                            |r| r.get::<_, bool>(0),
                        )
                    })
                    .map_err(sql)
            })
            .await?;
        if !ready {
            return Ok(Vec::new());
        }
        self.queue
            .write(move |conn| {
                let now = Utc::now().timestamp_millis();
                // An ordered queue hands out only the first waiting message of a group: a
                // group's next waits until the one before it is acked.
                let select = if queue.keeps_group_order() {
                    "SELECT id, body, receive_count, grp FROM queue_messages AS m
                     WHERE queue = ?1 AND dead = 0 AND visible_at <= ?2
                       AND NOT EXISTS (SELECT 1 FROM queue_messages AS e
                           WHERE e.queue = m.queue AND e.grp = m.grp AND e.dead = 0 AND e.id < m.id)
                     ORDER BY visible_at, id LIMIT ?3"
                } else {
                    "SELECT id, body, receive_count, grp FROM queue_messages
                     WHERE queue = ?1 AND dead = 0 AND visible_at <= ?2 ORDER BY visible_at, id LIMIT ?3"
                };
                let ready: Vec<(i64, Vec<u8>, u32, Option<String>)> = conn
                    .prepare_cached(select)
                    .and_then(|mut s| {
                        s.query_map(params![queue.as_str(), now, max as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                            .collect()
                    })
                    .map_err(sql)?;
                let mut deliveries = Vec::with_capacity(ready.len());
                for (id, body, count, group) in ready {
                    if count >= queue.max_receives() {
                        conn.prepare_cached("UPDATE queue_messages SET dead = 1, receipt = NULL WHERE id = ?1")
                            .and_then(|mut s| s.execute([id]))
                            .map_err(sql)?;
                        tracing::warn!(queue = queue.as_str(), id, receives = count, "message dead-lettered");
                        continue;
                    }
                    let receipt = format!("{id}.{:016x}", rand::random::<u64>());
                    conn.prepare_cached(
                        "UPDATE queue_messages SET receive_count = receive_count + 1, visible_at = ?2, receipt = ?3 WHERE id = ?1",
                    )
                    .and_then(|mut s| s.execute(params![id, now.saturating_add(hidden_for), receipt]))
                    .map_err(sql)?;
                    deliveries.push(Delivery { id: id.to_string(), receipt, body, receive_count: count + 1, group });
                }
                Ok(deliveries)
            })
            .await
    }

    async fn ack(&self, queue: QueueName, receipts: &[String]) -> PortResult<()> {
        let receipts = receipts.to_vec();
        self.queue
            .write(move |conn| {
                let now = Utc::now().timestamp_millis();
                for receipt in &receipts {
                    let Some(id) = receipt_id(receipt) else {
                        continue;
                    };
                    // A row that holds an idempotency key stays, without its body, until
                    // the key expires; any other goes.
                    let kept = conn
                        .prepare_cached(
                            "UPDATE queue_messages SET dead = ?4, body = x'', receipt = NULL, last_error = NULL
                             WHERE id = ?1 AND receipt = ?2 AND queue = ?3 AND held_until > ?5",
                        )
                        .and_then(|mut s| s.execute(params![id, receipt, queue.as_str(), DONE, now]))
                        .map_err(sql)?;
                    if kept == 0 {
                        conn.prepare_cached(
                            "DELETE FROM queue_messages WHERE id = ?1 AND receipt = ?2 AND queue = ?3",
                        )
                        .and_then(|mut s| s.execute(params![id, receipt, queue.as_str()]))
                        .map_err(sql)?;
                    }
                }
                Ok(())
            })
            .await
    }

    async fn release(
        &self,
        queue: QueueName,
        receipt: &str,
        delay: Duration,
        error: &str,
    ) -> PortResult<()> {
        let (receipt, error) = (
            receipt.to_owned(),
            error.chars().take(1000).collect::<String>(),
        );
        let delay = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
        self.queue
            .write(move |conn| {
                let visible_at = Utc::now().timestamp_millis().saturating_add(delay);
                let Some(id) = receipt_id(&receipt) else { return Ok(()) };
                conn.prepare_cached(
                    "UPDATE queue_messages SET visible_at = ?3, last_error = ?4 WHERE id = ?1 AND receipt = ?2 AND queue = ?5",
                )
                .and_then(|mut s| s.execute(params![id, receipt, visible_at, error, queue.as_str()]))
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn dead_letters(
        &self,
        queue: QueueName,
        page: &PageRequest,
    ) -> PortResult<Page<DeadLetter>> {
        let after: i64 = match page.cursor.as_deref().map(cursor::decode).transpose()? {
            Some((id, _)) => id,
            None => 0,
        };
        let limit = page.limit as usize;
        self.queue
            .read(move |conn| {
                let mut items: Vec<DeadLetter> = conn
                    .prepare_cached(
                        "SELECT id, receive_count, enqueued_at, last_error, body FROM queue_messages
                         WHERE queue = ?1 AND dead = 1 AND id > ?2 ORDER BY id LIMIT ?3",
                    )
                    .and_then(|mut s| {
                        s.query_map(params![queue.as_str(), after, (limit + 1) as i64], |r| {
                            Ok(DeadLetter {
                                id: r.get::<_, i64>(0)?.to_string(),
                                queue,
                                receive_count: r.get(1)?,
                                enqueued_at: time(r.get(2)?)?,
                                last_error: r.get(3)?,
                                body: String::from_utf8_lossy(&r.get::<_, Vec<u8>>(4)?).into_owned(),
                            })
                        })?
                        .collect()
                    })
                    .map_err(sql)?;
                let next_cursor = (items.len() > limit).then(|| {
                    let last: i64 = items[limit - 1].id.parse().unwrap_or(0);
                    cursor::encode(last, "")
                });
                items.truncate(limit);
                Ok(Page { items, next_cursor })
            })
            .await
    }

    async fn replay(&self, queue: QueueName, id: &str) -> PortResult<bool> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(false);
        };
        self.queue
            .write(move |conn| {
                let changed = conn
                    .prepare_cached(
                        "UPDATE queue_messages SET dead = 0, receive_count = 0, visible_at = ?3, receipt = NULL
                         WHERE queue = ?1 AND id = ?2 AND dead = 1",
                    )
                    .and_then(|mut s| s.execute(params![queue.as_str(), id, Utc::now().timestamp_millis()]))
                    .map_err(sql)?;
                Ok(changed == 1)
            })
            .await
    }
}
