use super::Embedded;
use super::cursor;
use super::db::sql;
use super::rows::{self, millis};
use crate::model::{
    Conversation, ConversationId, DeliveryStatus, Event, EventId, Message, MessageId, Note, NoteId,
    SourceId, TimelineItem,
};
use crate::ports::{
    AssigneeFilter, ConversationFilter, ConversationStore, LATEST_SCAN_ITEMS, MAX_PAGE_SIZE,
    MessageStore, MessageWindow, Page, PageRequest, PortError, PortResult, StatusFilter,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params, params_from_iter};

#[async_trait]
impl ConversationStore for Embedded {
    async fn list_conversations(
        &self,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> PortResult<Page<Conversation>> {
        let (sql_text, args) = list_query(filter, page)?;
        let limit = page.limit as usize;
        self.db
            .read(move |conn| {
                let mut items: Vec<Conversation> = conn
                    .prepare_cached(&sql_text)
                    .and_then(|mut s| {
                        s.query_map(params_from_iter(args), rows::conversation)?
                            .collect()
                    })
                    .map_err(sql)?;
                let next_cursor = (items.len() > limit).then(|| {
                    items.truncate(limit);
                    let last = &items[limit - 1];
                    cursor::encode(millis(last.updated_at), &last.id.to_string())
                });
                Ok(Page { items, next_cursor })
            })
            .await
    }

    async fn conversation(&self, id: ConversationId) -> PortResult<Option<Conversation>> {
        self.db
            .read(move |conn| rows::get_conversation(conn, &id.to_string()))
            .await
    }

    async fn save_conversation(
        &self,
        c: &Conversation,
        expected_version: u64,
        events: &[Event],
    ) -> PortResult<Conversation> {
        let next = Conversation {
            version: expected_version + 1,
            ..c.clone()
        };
        let events = events.to_vec();
        self.db
            .write(move |conn| {
                rows::update_conversation(conn, &next, expected_version)?;
                for e in &events {
                    rows::insert_event(conn, e)?;
                }
                Ok(next)
            })
            .await
    }

    async fn fold_conversation(
        &self,
        from: &Conversation,
        into: &Conversation,
        expected_version: u64,
        event: &Event,
    ) -> PortResult<Conversation> {
        let next = Conversation {
            version: expected_version + 1,
            ..into.clone()
        };
        let (from_id, from_version) = (from.id.to_string(), from.version as i64);
        let event = event.clone();
        self.db
            .write(move |conn| {
                rows::update_conversation(conn, &next, expected_version)?;
                let to = next.id.to_string();
                for table in ["messages", "notes", "events"] {
                    conn.prepare_cached(&format!(
                        "UPDATE {table} SET conversation_id = ?2 WHERE conversation_id = ?1"
                    ))
                    .and_then(|mut s| s.execute([&from_id, &to]))
                    .map_err(sql)?;
                }
                // The folded conversation's tags, clocks, report track and survey go with it.
                for table in [
                    "conversation_tags",
                    "conversation_sla",
                    "report_tracks",
                    "surveys",
                    "survey_waits",
                ] {
                    conn.prepare_cached(&format!("DELETE FROM {table} WHERE conversation_id = ?1"))
                        .and_then(|mut s| s.execute([&from_id]))
                        .map_err(sql)?;
                }
                let removed = conn
                    .prepare_cached("DELETE FROM conversations WHERE id = ?1 AND version = ?2")
                    .and_then(|mut s| s.execute(rusqlite::params![from_id, from_version]))
                    .map_err(sql)?;
                if removed == 0 {
                    return Err(PortError::Conflict(format!(
                        "conversation {from_id} changed meanwhile"
                    )));
                }
                rows::insert_event(conn, &event)?;
                Ok(next)
            })
            .await
    }

    async fn latest_messages(&self, id: ConversationId, count: usize) -> PortResult<Vec<Message>> {
        // Only messages are read here, so the newest `count` of them are the newest
        // among any number of timeline items: within the scan limit by construction.
        let count = count.min(LATEST_SCAN_ITEMS) as i64;
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {} FROM messages WHERE conversation_id = ?1 ORDER BY seq DESC LIMIT ?2",
                    rows::MESSAGE_COLUMNS
                ))
                .and_then(|mut s| {
                    s.query_map(params![id.to_string(), count], |r| rows::message_from(r, 0))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql)
            })
            .await
    }

    async fn messages_before(
        &self,
        id: ConversationId,
        before: Option<ulid::Ulid>,
        count: usize,
    ) -> PortResult<MessageWindow> {
        // Messages are read by their own index, so no note or event is read past: one
        // more than asked says whether older ones remain.
        let count = count.clamp(1, MAX_PAGE_SIZE as usize);
        // Above every ULID: from the newest.
        let below = before.map_or_else(|| "~".to_owned(), rows::seq_of);
        let mut messages = self
            .db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {} FROM messages WHERE conversation_id = ?1 AND seq < ?2
                     ORDER BY seq DESC LIMIT ?3",
                    rows::MESSAGE_COLUMNS
                ))
                .and_then(|mut s| {
                    s.query_map(params![id.to_string(), below, count as i64 + 1], |r| {
                        rows::message_from(r, 0)
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql)
            })
            .await?;
        let older = (messages.len() > count).then(|| messages[count - 1].id.ulid());
        messages.truncate(count);
        Ok(MessageWindow { messages, older })
    }

    async fn timeline(
        &self,
        id: ConversationId,
        page: &PageRequest,
    ) -> PortResult<Page<TimelineItem>> {
        let after = page
            .cursor
            .as_deref()
            .map(cursor::decode_seq)
            .transpose()?
            .unwrap_or_default();
        let limit = page.limit as usize;
        self.db
            .read(move |conn| {
                let id = id.to_string();
                let fetch = (limit + 1) as i64;
                let mut items: Vec<(String, TimelineItem)> = Vec::new();
                let query = |sql_text: &str| conn.prepare_cached(sql_text);
                let messages = query(&format!(
                    "SELECT seq, {} FROM messages WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                    rows::MESSAGE_COLUMNS
                ))
                .and_then(|mut s| {
                    s.query_map(params![id, after, fetch], |r| {
                        Ok((r.get::<_, String>(0)?, TimelineItem::Message(rows::message_from(r, 1)?)))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql)?;
                items.extend(messages);
                let notes = query(
                    "SELECT seq, id, conversation_id, author_id, text, created_at FROM notes
                     WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                )
                .and_then(|mut s| {
                    s.query_map(params![id, after, fetch], |r| {
                        Ok((r.get::<_, String>(0)?, TimelineItem::Note(rows::note_from(r, 1)?)))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql)?;
                items.extend(notes);
                let events = query(
                    "SELECT seq, id, conversation_id, kind, actor_id, created_at FROM events
                     WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                )
                .and_then(|mut s| {
                    s.query_map(params![id, after, fetch], |r| {
                        Ok((r.get::<_, String>(0)?, TimelineItem::Event(rows::event_from(r, 1)?)))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql)?;
                items.extend(events);
                items.sort_by(|a, b| a.0.cmp(&b.0));
                let next_cursor = (items.len() > limit).then(|| cursor::encode_seq(&items[limit - 1].0));
                items.truncate(limit);
                Ok(Page { items: items.into_iter().map(|(_, item)| item).collect(), next_cursor })
            })
            .await
    }

    async fn add_note(&self, note: &Note) -> PortResult<()> {
        let note = note.clone();
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO notes (id, seq, conversation_id, author_id, text, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        note.id.to_string(),
                        rows::seq_of(note.id.ulid()),
                        note.conversation_id.to_string(),
                        note.author_id.to_string(),
                        note.text,
                        millis(note.created_at)
                    ])
                })
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn note(&self, id: ConversationId, note: NoteId) -> PortResult<Option<Note>> {
        self.db
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT id, conversation_id, author_id, text, created_at FROM notes
                     WHERE id = ?1 AND conversation_id = ?2",
                )
                .and_then(|mut s| {
                    s.query_row([note.to_string(), id.to_string()], |row| {
                        rows::note_from(row, 0)
                    })
                    .optional()
                })
                .map_err(sql)
            })
            .await
    }

    async fn event(&self, id: ConversationId, event: EventId) -> PortResult<Option<Event>> {
        self.db
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT id, conversation_id, kind, actor_id, created_at FROM events
                     WHERE id = ?1 AND conversation_id = ?2",
                )
                .and_then(|mut s| {
                    s.query_row([event.to_string(), id.to_string()], |row| {
                        rows::event_from(row, 0)
                    })
                    .optional()
                })
                .map_err(sql)
            })
            .await
    }

    async fn snoozed_until_before(
        &self,
        at: DateTime<Utc>,
        limit: u32,
    ) -> PortResult<Vec<Conversation>> {
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {} FROM conversations WHERE status = 'snoozed' AND snoozed_until <= ?1
                     ORDER BY snoozed_until LIMIT ?2",
                    rows::CONVERSATION_COLUMNS
                ))
                .and_then(|mut s| {
                    s.query_map(params![millis(at), limit], rows::conversation)?
                        .collect()
                })
                .map_err(sql)
            })
            .await
    }

    async fn changed_between(
        &self,
        status: crate::model::ConversationStatus,
        after: (DateTime<Utc>, Option<ConversationId>),
        until: DateTime<Utc>,
        limit: u32,
    ) -> PortResult<Vec<Conversation>> {
        let (after_at, after_id) = (millis(after.0), after.1.map(|id| id.to_string()));
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {} FROM conversations
                     WHERE status = ?1 AND (updated_at, id) > (?2, ?3) AND updated_at <= ?4
                     ORDER BY updated_at, id LIMIT ?5",
                    rows::CONVERSATION_COLUMNS
                ))
                .and_then(|mut s| {
                    s.query_map(
                        params![
                            status.as_str(),
                            after_at,
                            after_id.unwrap_or_default(),
                            millis(until),
                            limit
                        ],
                        rows::conversation,
                    )?
                    .collect()
                })
                .map_err(sql)
            })
            .await
    }

    async fn conversation_for_link(&self, link_hash: &str) -> PortResult<Option<ConversationId>> {
        let link_hash = link_hash.to_owned();
        self.db
            .read(move |conn| {
                let id: Option<String> = conn
                    .prepare_cached(
                        "SELECT conversation_id FROM customer_links WHERE link_hash = ?1",
                    )
                    .and_then(|mut s| s.query_row([link_hash], |r| r.get(0)).optional())
                    .map_err(sql)?;
                id.map(|id| rows::parse("conversation id", &id).map_err(sql))
                    .transpose()
            })
            .await
    }
}

#[async_trait]
impl MessageStore for Embedded {
    async fn add_outbound(&self, message: &Message) -> PortResult<()> {
        let message = message.clone();
        self.db
            .write(move |conn| rows::add_outbound(conn, &message))
            .await
    }

    async fn message(&self, id: MessageId) -> PortResult<Option<Message>> {
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {} FROM messages WHERE id = ?1",
                    rows::MESSAGE_COLUMNS
                ))
                .and_then(|mut s| s.query_row([id.to_string()], rows::message).optional())
                .map_err(sql)
            })
            .await
    }

    async fn claim_send(&self, id: MessageId) -> PortResult<bool> {
        self.db
            .write(move |conn| {
                let changed = conn
                    .prepare_cached(
                        "UPDATE messages SET delivery_status = 'sending'
                         WHERE id = ?1 AND delivery_status = 'queued'",
                    )
                    .and_then(|mut s| s.execute([id.to_string()]))
                    .map_err(sql)?;
                Ok(changed == 1)
            })
            .await
    }

    async fn set_delivery_status(
        &self,
        id: MessageId,
        status: DeliveryStatus,
        error: Option<&str>,
        provider_id: Option<&str>,
    ) -> PortResult<()> {
        let error = error.map(str::to_owned);
        let provider_id = provider_id.map(str::to_owned);
        self.db
            .write(move |conn| {
                let changed = conn
                    .prepare_cached(
                        "UPDATE messages SET delivery_status = ?2, delivery_error = ?3,
                            provider_id = COALESCE(?4, provider_id) WHERE id = ?1",
                    )
                    .and_then(|mut s| {
                        s.execute(params![id.to_string(), status.as_str(), error, provider_id])
                    })
                    .map_err(sql)?;
                if changed == 0 {
                    Err(PortError::NotFound)
                } else {
                    Ok(())
                }
            })
            .await
    }

    async fn message_by_provider_id(&self, provider_id: &str) -> PortResult<Option<MessageId>> {
        let provider_id = provider_id.to_owned();
        self.db
            .read(move |conn| {
                let id: Option<String> = conn
                    .prepare_cached("SELECT id FROM messages WHERE provider_id = ?1 LIMIT 1")
                    .and_then(|mut s| s.query_row([provider_id], |r| r.get(0)).optional())
                    .map_err(sql)?;
                id.map(|id| rows::parse("message id", &id).map_err(sql))
                    .transpose()
            })
            .await
    }

    async fn message_by_source_id(&self, source_id: &SourceId) -> PortResult<Option<MessageId>> {
        let source_id = source_id.as_str().to_owned();
        self.db
            .read(move |conn| {
                let id: Option<String> = conn
                    .prepare_cached("SELECT id FROM messages WHERE source_id = ?1")
                    .and_then(|mut s| s.query_row([source_id], |r| r.get(0)).optional())
                    .map_err(sql)?;
                id.map(|id| rows::parse("message id", &id).map_err(sql))
                    .transpose()
            })
            .await
    }

    async fn settle_delivery(
        &self,
        id: MessageId,
        status: DeliveryStatus,
        error: Option<&str>,
    ) -> PortResult<bool> {
        let error = error.map(str::to_owned);
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE messages SET delivery_status = ?2, delivery_error = ?3
                     WHERE id = ?1 AND delivery_status = 'sent'",
                )
                .and_then(|mut s| s.execute(params![id.to_string(), status.as_str(), error]))
                .map(|changed| changed > 0)
                .map_err(sql)
            })
            .await
    }
}

/// The SELECT for one page of a filtered conversation list, and its arguments.
fn list_query(filter: &ConversationFilter, page: &PageRequest) -> PortResult<(String, Vec<Value>)> {
    let mut clauses: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let text = |s: String| Value::Text(s);
    if let StatusFilter::Only(status) = filter.status {
        clauses.push("status = ?");
        args.push(text(status.as_str().into()));
    }
    match filter.assignee {
        AssigneeFilter::Anyone => {}
        AssigneeFilter::Unassigned => clauses.push("assignee_id IS NULL"),
        AssigneeFilter::Agent(agent) => {
            clauses.push("assignee_id = ?");
            args.push(text(agent.to_string()));
        }
    }
    if let Some(team) = filter.team {
        clauses.push("team_id = ?");
        args.push(text(team.to_string()));
    }
    if let Some(priority) = filter.priority {
        clauses.push("priority = ?");
        args.push(text(priority.as_str().into()));
    }
    if let Some(channel) = filter.channel {
        clauses.push("channels LIKE ?");
        args.push(text(format!("%\"{}\"%", channel.as_str())));
    }
    if let Some(contact) = filter.contact {
        clauses.push("contact_id = ?");
        args.push(text(contact.to_string()));
    }
    if filter.waiting {
        clauses.push("waiting_since IS NOT NULL");
    }
    if let Some(tag) = &filter.tag {
        clauses.push("id IN (SELECT conversation_id FROM conversation_tags WHERE tag = ?)");
        args.push(text(tag.clone()));
    }
    if let Some(query) = filter.query.as_deref().and_then(fts_query) {
        clauses.push("id IN (SELECT conversation_id FROM conversation_search WHERE conversation_search MATCH ?)");
        args.push(text(query));
    }
    if let Some(c) = &page.cursor {
        let (updated, id) = cursor::decode(c)?;
        // A row value, so SQLite seeks the index to the cursor instead of scanning to it.
        clauses.push("(updated_at, id) < (?, ?)");
        args.extend([Value::Integer(updated), text(id)]);
    }
    let where_clause = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    args.push(Value::Integer(i64::from(page.limit) + 1));
    Ok((
        format!(
            "SELECT {} FROM conversations {where_clause} ORDER BY updated_at DESC, id DESC LIMIT ?",
            rows::CONVERSATION_COLUMNS
        ),
        args,
    ))
}

/// Each word of a user's search as a quoted FTS5 term, all required.
fn fts_query(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split_whitespace()
        .take(10)
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}
