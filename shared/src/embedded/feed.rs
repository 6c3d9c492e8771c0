//! The event log the schema's triggers write (`change_log`), read in `seq` order.

use super::Embedded;
use super::db::sql;
use super::rows::{parse, time};
use crate::model::{Change, ChangeType};
use crate::ports::{EventFeed, MAX_FEED_BATCH, PortError, PortResult};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row};

fn seq_of(cursor: &str) -> PortResult<i64> {
    cursor
        .parse::<i64>()
        .ok()
        .filter(|seq| *seq >= 0)
        .ok_or_else(|| PortError::Invalid("not a cursor of this event log".into()))
}

fn optional<T: std::str::FromStr>(
    row: &Row<'_>,
    index: usize,
    what: &str,
) -> rusqlite::Result<Option<T>> {
    row.get::<_, Option<String>>(index)?
        .map(|v| parse(what, &v))
        .transpose()
}

/// An entry, or none when its type is not one this build knows (a timeline event a
/// newer build wrote): a reader skips it rather than stop at it.
fn change(row: &Row<'_>) -> rusqlite::Result<Option<Change>> {
    let seq: i64 = row.get(0)?;
    let kind = match (
        row.get::<_, Option<String>>(1)?,
        row.get::<_, Option<String>>(2)?,
    ) {
        (Some(name), _) => name.parse::<ChangeType>().ok(),
        (None, Some(tag)) => ChangeType::of_event_tag(&tag),
        (None, None) => None,
    };
    let Some(kind) = kind else {
        return Ok(None);
    };
    Ok(Some(Change {
        id: format!("lg_{seq}"),
        cursor: seq.to_string(),
        kind,
        at: time(row.get(3)?)?,
        conversation_id: optional(row, 4, "conversation id")?,
        contact_id: optional(row, 5, "contact id")?,
        message_id: optional(row, 6, "message id")?,
        note_id: optional(row, 7, "note id")?,
        event_id: optional(row, 8, "event id")?,
        actor_id: optional(row, 9, "agent id")?,
        incident_id: optional(row, 10, "incident id")?,
    }))
}

#[async_trait]
impl EventFeed for Embedded {
    /// A read is an indexed range on a local file: cheap enough to look often.
    fn poll_interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(100)
    }

    async fn changes_after(&self, after: Option<&str>, limit: usize) -> PortResult<Vec<Change>> {
        let after = after.map(seq_of).transpose()?.unwrap_or(0);
        let limit = limit.clamp(1, MAX_FEED_BATCH) as i64;
        self.db
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT seq, type, event_tag, at, conversation_id, contact_id, message_id,
                            note_id, event_id, actor_id, incident_id
                         FROM change_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                    )
                    .map_err(sql)?;
                // Entries this build cannot read are passed over; reading goes on past
                // them so a run of them never holds a reader in place.
                let mut from = after;
                loop {
                    let rows = statement
                        .query_map([from, limit], |r| Ok((r.get::<_, i64>(0)?, change(r)?)))
                        .map_err(sql)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                        .map_err(sql)?;
                    let Some((last, _)) = rows.last() else {
                        return Ok(Vec::new());
                    };
                    from = *last;
                    let changes: Vec<Change> = rows.into_iter().filter_map(|(_, c)| c).collect();
                    if !changes.is_empty() {
                        return Ok(changes);
                    }
                }
            })
            .await
    }

    async fn latest_cursor(&self) -> PortResult<String> {
        self.db
            .read(|conn| {
                let seq: i64 = conn
                    .query_row("SELECT coalesce(max(seq), 0) FROM change_log", [], |r| {
                        r.get(0)
                    })
                    .map_err(sql)?;
                Ok(seq.to_string())
            })
            .await
    }

    async fn consumer_position(&self, name: &str) -> PortResult<Option<String>> {
        let name = name.to_owned();
        self.db
            .read(move |conn| {
                let position: Option<i64> = conn
                    .query_row(
                        "SELECT position FROM feed_consumers WHERE name = ?1",
                        [name],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sql)?;
                Ok(position.map(|p| p.to_string()))
            })
            .await
    }

    async fn forget_before(&self, before: chrono::DateTime<chrono::Utc>) -> PortResult<u64> {
        let before = before.timestamp_millis();
        self.db
            .write(move |conn| {
                // Entries are logged in `seq` order, so the old ones are those before the
                // first logged since: found by reading from the oldest, as far as the
                // entries that go anyway. The newest always stays (see the schema).
                let forgotten = conn
                    .execute(
                        "DELETE FROM change_log WHERE seq < coalesce(
                            (SELECT seq FROM change_log WHERE logged_at >= ?1 ORDER BY seq LIMIT 1),
                            (SELECT max(seq) FROM change_log))",
                        [before],
                    )
                    .map_err(sql)?;
                Ok(forgotten as u64)
            })
            .await
    }

    async fn save_consumer_position(&self, name: &str, cursor: &str) -> PortResult<()> {
        let position = seq_of(cursor)?;
        let name = name.to_owned();
        self.db
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO feed_consumers (name, position) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                    rusqlite::params![name, position],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_logged_before_the_cutoff_are_forgotten_and_the_rest_read_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = Embedded::open(&dir.path().join("log.db")).unwrap();
        let eight_days_ago = (chrono::Utc::now() - chrono::TimeDelta::days(8)).timestamp_millis();
        let (old, new) = (
            crate::model::ContactId::new().to_string(),
            crate::model::ContactId::new().to_string(),
        );
        store
            .db
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO contacts (id, created_at, updated_at) VALUES (?1, 0, 0)",
                    [old],
                )
                .map_err(sql)?;
                conn.execute("UPDATE change_log SET logged_at = ?1", [eight_days_ago])
                    .map_err(sql)?;
                conn.execute(
                    "INSERT INTO contacts (id, created_at, updated_at) VALUES (?1, 0, 0)",
                    [new],
                )
                .map_err(sql)
            })
            .await
            .unwrap();
        let cutoff = chrono::Utc::now() - crate::ports::LOG_RETENTION;
        assert_eq!(store.forget_before(cutoff).await.unwrap(), 1);
        // Even when every entry is old, the newest stays: numbering never restarts.
        let everything = chrono::Utc::now() + chrono::TimeDelta::days(1);
        assert_eq!(store.forget_before(everything).await.unwrap(), 0);
        assert_eq!(store.forget_before(cutoff).await.unwrap(), 0);
        let left = store.changes_after(None, 10).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].kind, ChangeType::ContactCreated);
        assert_eq!(
            left[0].cursor, "2",
            "numbering goes on after what was forgotten"
        );
    }
}
