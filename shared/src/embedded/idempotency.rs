//! Idempotency keys held by the queue rows their submissions went on, in the file where
//! the webhook that checks them also enqueues: a keyed submission holds its key and joins
//! the queue in one insert. A handled row stays, body-less and "done", until its key
//! expires (see the queue schema's third migration).

use super::Embedded;
use super::db::sql;
use super::rows::millis;
use crate::ports::{Enqueue, IdempotencyStore, PortResult, QueueName, SendOnce};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

/// Expired keys removed by one call, so the cleanup never makes a request slow.
pub(super) const PURGE_BATCH: i64 = 100;
/// One call in this many also removes expired keys: far more than expire meanwhile,
/// without a delete statement on every submission's path.
const PURGE_EVERY: u32 = 16;
/// A row that holds a key and has been handled (beside 0, waiting or in flight, and 1,
/// dead-lettered).
pub(super) const DONE: i64 = 2;

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
            .write(move |conn| hold(conn, &key, &value, expires_at, None).map(|(held, _)| held))
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
                hold(conn, &key, &value, expires_at, Some(&message)).map(|(held, _)| held)
            })
            .await
    }
}

/// Holds `value` under `key` unless it is held and not yet expired, with `message` put on
/// the inbound queue in the same row (none: a row that is done already). Returns the value
/// held and whether this call stored it.
fn hold(
    conn: &Connection,
    key: &str,
    value: &str,
    expires_at: DateTime<Utc>,
    message: Option<&Enqueue>,
) -> PortResult<(String, bool)> {
    let now = millis(Utc::now());
    if rand::random_ratio(1, PURGE_EVERY) {
        conn.prepare_cached(
            "DELETE FROM queue_messages WHERE id IN
             (SELECT id FROM queue_messages WHERE dead = 2 AND held_until <= ?1 LIMIT ?2)",
        )
        .and_then(|mut s| s.execute(params![now, PURGE_BATCH]))
        .map_err(sql)?;
    }
    let queue = QueueName::Inbound.as_str();
    let dedup = format!("idempotency:{key}");
    let (group, body, dead) = match message {
        Some(m) => (m.group.as_str(), m.body.as_slice(), 0),
        None => ("", &[][..], DONE),
    };
    // At most twice: an expired holder is moved aside once, then the key is free.
    for _ in 0..2 {
        let stored = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO queue_messages
                 (queue, grp, dedup, body, enqueued_at, visible_at, dead, held, held_until)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    queue,
                    group,
                    dedup,
                    body,
                    now,
                    dead,
                    value,
                    millis(expires_at)
                ])
            })
            .map_err(sql)?
            == 1;
        if stored {
            return Ok((value.to_owned(), true));
        }
        let holder: Option<(i64, Option<String>, Option<i64>, i64)> = conn
            .prepare_cached(
                "SELECT id, held, held_until, dead FROM queue_messages WHERE queue = ?1 AND dedup = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![queue, dedup], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()
            })
            .map_err(sql)?;
        let Some((id, held, held_until, holder_dead)) = holder else {
            continue;
        };
        if let Some(held) = held
            && held_until.is_some_and(|until| until > now)
        {
            return Ok((held, false));
        }
        // Expired: a done row goes; a message still waiting keeps its place in the
        // queue and gives up the key.
        let statement = if holder_dead == DONE {
            "DELETE FROM queue_messages WHERE id = ?1"
        } else {
            "UPDATE queue_messages SET dedup = dedup || '#' || id, held = NULL, held_until = NULL WHERE id = ?1"
        };
        conn.prepare_cached(statement)
            .and_then(|mut s| s.execute([id]))
            .map_err(sql)?;
    }
    Err(crate::ports::PortError::Conflict(
        "the idempotency key could not be held".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::schema::{QUEUE, migrate};

    #[test]
    fn keys_held_before_the_queue_held_them_are_still_held_after_the_upgrade() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, &QUEUE[..2]).unwrap();
        let later = Utc::now() + chrono::Duration::hours(1);
        conn.execute(
            "INSERT INTO idempotency_keys (key, value, expires_at) VALUES ('k', 'first', ?1)",
            [millis(later)],
        )
        .unwrap();
        migrate(&mut conn, QUEUE).unwrap();

        let (held, stored) = hold(&conn, "k", "second", later, None).unwrap();
        assert_eq!((held.as_str(), stored), ("first", false));
        let (held, stored) = hold(&conn, "other", "third", later, None).unwrap();
        assert_eq!((held.as_str(), stored), ("third", true));
        let waiting: i64 = conn
            .query_row(
                "SELECT count(*) FROM queue_messages WHERE dead = 0",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(waiting, 0, "a key held without a message queues nothing");
    }
}
