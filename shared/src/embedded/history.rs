//! A contact's history across their conversations, newest first, keyed by item id (which
//! sorts by creation across kinds and conversations), so pages follow on without gaps or
//! repeats.

use super::cursor;
use super::db::sql;
use super::rows;
use crate::model::{ContactId, TimelineItem};
use crate::ports::{Page, PortResult};
use rusqlite::{Connection, params};

/// The contact's timeline items, newest first, below the cursor's id.
pub(super) fn contact_timeline(
    conn: &Connection,
    id: ContactId,
    below: Option<String>,
    limit: usize,
) -> PortResult<Page<TimelineItem>> {
    let contact = id.to_string();
    // Every ULID sorts below `~`.
    let below = below.unwrap_or_else(|| "~".into());
    let fetch = (limit + 1) as i64;
    let mut items: Vec<(String, TimelineItem)> = conn
        .prepare_cached(&format!(
            "SELECT seq, {} FROM messages WHERE conversation_id IN
                (SELECT id FROM conversations WHERE contact_id = ?1)
             AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
            rows::MESSAGE_COLUMNS
        ))
        .and_then(|mut s| {
            s.query_map(params![contact, below, fetch], |r| {
                Ok((r.get(0)?, TimelineItem::Message(rows::message_from(r, 1)?)))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql)?;
    let notes = conn
        .prepare_cached(
            "SELECT seq, id, conversation_id, author_id, text, created_at FROM notes
             WHERE conversation_id IN (SELECT id FROM conversations WHERE contact_id = ?1)
             AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
        )
        .and_then(|mut s| {
            s.query_map(params![contact, below, fetch], |r| {
                Ok((r.get(0)?, TimelineItem::Note(rows::note_from(r, 1)?)))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql)?;
    let events = conn
        .prepare_cached(
            "SELECT seq, id, conversation_id, kind, actor_id, created_at FROM events
             WHERE conversation_id IN (SELECT id FROM conversations WHERE contact_id = ?1)
             AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
        )
        .and_then(|mut s| {
            s.query_map(params![contact, below, fetch], |r| {
                Ok((r.get(0)?, TimelineItem::Event(rows::event_from(r, 1)?)))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql)?;
    items.extend(notes);
    items.extend(events);
    items.sort_by(|a, b| b.0.cmp(&a.0));
    let next_cursor = (items.len() > limit).then(|| cursor::encode_seq(&items[limit - 1].0));
    items.truncate(limit);
    Ok(Page {
        items: items.into_iter().map(|(_, item)| item).collect(),
        next_cursor,
    })
}
