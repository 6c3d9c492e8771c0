//! Turning rows into domain values and back.

use super::db::sql;
use crate::model::{
    Agent, Author, Availability, Channel, Contact, ContactIdentity, Conversation,
    ConversationStatus, DeliveryStatus, Direction, EmailAddress, Event, Identity, Message, Note,
    Priority, Role, SourceId, Team, preview_of,
};
use crate::ports::{PortError, PortResult};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

pub fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub fn time(ms: i64) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt("timestamp", &ms.to_string()))
}

pub fn opt_time(ms: Option<i64>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    ms.map(time).transpose()
}

pub fn corrupt(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("stored {what} `{value}` is not valid").into(),
    )
}

pub fn parse<T: std::str::FromStr>(what: &str, value: &str) -> rusqlite::Result<T> {
    value.parse().map_err(|_| corrupt(what, value))
}

pub fn json<T: serde::de::DeserializeOwned>(what: &str, value: &str) -> rusqlite::Result<T> {
    serde_json::from_str(value).map_err(|_| corrupt(what, value))
}

/// A value as the JSON body of a row.
pub fn encode<T: serde::Serialize>(value: &T) -> PortResult<String> {
    serde_json::to_string(value).map_err(|e| PortError::Internal(format!("encoding a row: {e}")))
}

/// A row's JSON body read back.
pub fn decode<T: serde::de::DeserializeOwned>(body: &str) -> PortResult<T> {
    serde_json::from_str(body).map_err(|e| PortError::Internal(format!("an unreadable row: {e}")))
}

pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn enum_of<T>(what: &str, value: &str, f: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    f(value).ok_or_else(|| corrupt(what, value))
}

pub const CONVERSATION_COLUMNS: &str = "id, contact_id, status, snoozed_until, priority, tags, team_id, assignee_id, \
     subject, channel, channels, message_count, preview, created_at, updated_at, last_inbound_at, resolved_at, version, waiting_since, incident_id";

pub fn conversation(row: &Row<'_>) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: parse("conversation id", &row.get::<_, String>(0)?)?,
        contact_id: parse("contact id", &row.get::<_, String>(1)?)?,
        status: enum_of(
            "status",
            &row.get::<_, String>(2)?,
            ConversationStatus::parse,
        )?,
        snoozed_until: opt_time(row.get(3)?)?,
        priority: enum_of("priority", &row.get::<_, String>(4)?, Priority::parse)?,
        tags: json("tags", &row.get::<_, String>(5)?)?,
        team_id: row
            .get::<_, Option<String>>(6)?
            .map(|v| parse("team id", &v))
            .transpose()?,
        assignee_id: row
            .get::<_, Option<String>>(7)?
            .map(|v| parse("agent id", &v))
            .transpose()?,
        subject: row.get(8)?,
        channel: enum_of("channel", &row.get::<_, String>(9)?, Channel::parse)?,
        channels: json("channels", &row.get::<_, String>(10)?)?,
        message_count: row.get(11)?,
        preview: row.get(12)?,
        created_at: time(row.get(13)?)?,
        updated_at: time(row.get(14)?)?,
        last_inbound_at: opt_time(row.get(15)?)?,
        resolved_at: opt_time(row.get(16)?)?,
        version: row.get::<_, i64>(17)? as u64,
        waiting_since: opt_time(row.get(18)?)?,
        incident_id: row
            .get::<_, Option<String>>(19)?
            .map(|v| parse("incident id", &v))
            .transpose()?,
    })
}

pub fn get_conversation(conn: &Connection, id: &str) -> PortResult<Option<Conversation>> {
    conn.prepare_cached(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?1"
    ))
    .and_then(|mut s| s.query_row([id], conversation).optional())
    .map_err(sql)
}

/// A conversation's columns, bound as `?1`–`?20` in `CONVERSATION_COLUMNS` order.
fn conversation_values(c: &Conversation) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value;
    let text = |s: &str| Value::Text(s.to_owned());
    let opt_text = |s: Option<String>| s.map_or(Value::Null, Value::Text);
    let opt_ms = |t: Option<DateTime<Utc>>| t.map_or(Value::Null, |t| Value::Integer(millis(t)));
    vec![
        Value::Text(c.id.to_string()),
        Value::Text(c.contact_id.to_string()),
        text(c.status.as_str()),
        opt_ms(c.snoozed_until),
        text(c.priority.as_str()),
        Value::Text(to_json(&c.tags)),
        opt_text(c.team_id.map(|t| t.to_string())),
        opt_text(c.assignee_id.map(|a| a.to_string())),
        opt_text(c.subject.clone()),
        text(c.channel.as_str()),
        Value::Text(to_json(&c.channels)),
        Value::Integer(i64::from(c.message_count)),
        Value::Text(c.preview.clone()),
        Value::Integer(millis(c.created_at)),
        Value::Integer(millis(c.updated_at)),
        opt_ms(c.last_inbound_at),
        opt_ms(c.resolved_at),
        Value::Integer(c.version as i64),
        opt_ms(c.waiting_since),
        opt_text(c.incident_id.map(|i| i.to_string())),
    ]
}

pub fn insert_conversation(conn: &Connection, c: &Conversation) -> PortResult<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO conversations ({CONVERSATION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
    ))
    .and_then(|mut s| s.execute(rusqlite::params_from_iter(conversation_values(c))))
    .map_err(sql)?;
    write_tags(conn, c)
}

/// Writes `c` over the stored row if that row is still at `expected_version`.
pub fn update_conversation(
    conn: &Connection,
    c: &Conversation,
    expected_version: u64,
) -> PortResult<()> {
    let mut values = conversation_values(c);
    values.push(rusqlite::types::Value::Integer(expected_version as i64));
    let changed = conn
        .prepare_cached(
            "UPDATE conversations SET contact_id = ?2, status = ?3, snoozed_until = ?4, priority = ?5, tags = ?6,
                team_id = ?7, assignee_id = ?8, subject = ?9, channel = ?10, channels = ?11, message_count = ?12,
                preview = ?13, updated_at = ?15, last_inbound_at = ?16, resolved_at = ?17, version = ?18,
                waiting_since = ?19, incident_id = ?20
             WHERE id = ?1 AND version = ?21",
        )
        .and_then(|mut s| s.execute(rusqlite::params_from_iter(values)))
        .map_err(sql)?;
    if changed == 0 {
        return Err(PortError::Conflict(format!(
            "conversation {} changed meanwhile",
            c.id
        )));
    }
    write_tags(conn, c)
}

fn write_tags(conn: &Connection, c: &Conversation) -> PortResult<()> {
    let id = c.id.to_string();
    conn.prepare_cached("DELETE FROM conversation_tags WHERE conversation_id = ?1")
        .and_then(|mut s| s.execute([&id]))
        .map_err(sql)?;
    for tag in &c.tags {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO conversation_tags (tag, conversation_id) VALUES (?1, ?2)",
        )
        .and_then(|mut s| s.execute([tag, &id]))
        .map_err(sql)?;
    }
    Ok(())
}

pub const MESSAGE_COLUMNS: &str = "id, conversation_id, contact_id, direction, channel, author, text, attachments, \
     source_id, delivery_status, delivery_error, created_at, reply_to, edit_of, media_group, external_id, context, original, sent_from, provider_id";

pub fn message(row: &Row<'_>) -> rusqlite::Result<Message> {
    message_from(row, 0)
}

pub fn message_from(row: &Row<'_>, base: usize) -> rusqlite::Result<Message> {
    Ok(Message {
        id: parse("message id", &row.get::<_, String>(base)?)?,
        conversation_id: parse("conversation id", &row.get::<_, String>(base + 1)?)?,
        contact_id: parse("contact id", &row.get::<_, String>(base + 2)?)?,
        direction: enum_of(
            "direction",
            &row.get::<_, String>(base + 3)?,
            Direction::parse,
        )?,
        channel: enum_of("channel", &row.get::<_, String>(base + 4)?, Channel::parse)?,
        author: json::<Author>("author", &row.get::<_, String>(base + 5)?)?,
        text: row.get(base + 6)?,
        attachments: json("attachments", &row.get::<_, String>(base + 7)?)?,
        source_id: row
            .get::<_, Option<String>>(base + 8)?
            .map(SourceId::from_stored),
        delivery_status: enum_of(
            "delivery status",
            &row.get::<_, String>(base + 9)?,
            DeliveryStatus::parse,
        )?,
        delivery_error: row.get(base + 10)?,
        created_at: time(row.get(base + 11)?)?,
        reply_to: row
            .get::<_, Option<String>>(base + 12)?
            .map(|v| parse("message id", &v))
            .transpose()?,
        edit_of: row
            .get::<_, Option<String>>(base + 13)?
            .map(|v| parse("message id", &v))
            .transpose()?,
        media_group: row.get(base + 14)?,
        external_id: row.get(base + 15)?,
        context: json("context", &row.get::<_, String>(base + 16)?)?,
        original: row.get(base + 17)?,
        sent_from: json("sent from", &row.get::<_, String>(base + 18)?)?,
        provider_id: row.get(base + 19)?,
    })
}

/// Stores a reply, status `queued`, and bumps its conversation (`NotFound` without one).
pub fn add_outbound(conn: &Connection, message: &Message) -> PortResult<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE conversations SET message_count = message_count + 1, preview = ?2, updated_at = ?3,
                version = version + 1, waiting_since = CASE WHEN ?4 THEN NULL ELSE waiting_since END
             WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                message.conversation_id.to_string(),
                preview_of(&message.text),
                millis(message.created_at),
                message.answers_the_customer()
            ])
        })
        .map_err(sql)?;
    if changed == 0 {
        return Err(PortError::NotFound);
    }
    insert_message(conn, message)
}

pub fn insert_message(conn: &Connection, m: &Message) -> PortResult<()> {
    let conversation_id = m.conversation_id.to_string();
    // Its text waits for the search index (filled once per transaction) under the key
    // the message keeps, so an erasure finds its row.
    conn.prepare_cached("INSERT INTO search_pending (conversation_id, body) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute([&conversation_id, &m.text]))
        .map_err(sql)?;
    let search_rowid = conn.last_insert_rowid();
    conn.prepare_cached(&format!(
        "INSERT INTO messages (search_rowid, seq, {MESSAGE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)"
    ))
    .and_then(|mut s| {
        s.execute(params![
            search_rowid,
            seq_of(m.id.ulid()),
            m.id.to_string(),
            conversation_id,
            m.contact_id.to_string(),
            m.direction.as_str(),
            m.channel.as_str(),
            to_json(&m.author),
            m.text,
            to_json(&m.attachments),
            m.source_id.as_ref().map(SourceId::as_str),
            m.delivery_status.as_str(),
            m.delivery_error,
            millis(m.created_at),
            m.reply_to.map(|id| id.to_string()),
            m.edit_of.map(|id| id.to_string()),
            m.media_group,
            m.external_id,
            to_json(&m.context),
            m.original,
            to_json(&m.sent_from),
            m.provider_id,
        ])
    })
    .map_err(sql)?;
    Ok(())
}

pub fn insert_event(conn: &Connection, e: &Event) -> PortResult<()> {
    conn.prepare_cached(
        "INSERT INTO events (id, seq, conversation_id, kind, actor_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            e.id.to_string(),
            seq_of(e.id.ulid()),
            e.conversation_id.to_string(),
            to_json(&e.kind),
            e.actor_id.map(|a| a.to_string()),
            millis(e.created_at),
        ])
    })
    .map_err(sql)?;
    Ok(())
}

pub fn event_from(row: &Row<'_>, base: usize) -> rusqlite::Result<Event> {
    Ok(Event {
        id: parse("event id", &row.get::<_, String>(base)?)?,
        conversation_id: parse("conversation id", &row.get::<_, String>(base + 1)?)?,
        kind: json("event", &row.get::<_, String>(base + 2)?)?,
        actor_id: row
            .get::<_, Option<String>>(base + 3)?
            .map(|v| parse("agent id", &v))
            .transpose()?,
        created_at: time(row.get(base + 4)?)?,
    })
}

pub fn note_from(row: &Row<'_>, base: usize) -> rusqlite::Result<Note> {
    Ok(Note {
        id: parse("note id", &row.get::<_, String>(base)?)?,
        conversation_id: parse("conversation id", &row.get::<_, String>(base + 1)?)?,
        author_id: parse("agent id", &row.get::<_, String>(base + 2)?)?,
        text: row.get(base + 3)?,
        created_at: time(row.get(base + 4)?)?,
    })
}

/// The ULID as it sorts: every kind of timeline item shares one generator.
pub fn seq_of(ulid: ulid::Ulid) -> String {
    ulid.to_string()
}

pub const AGENT_COLUMNS: &str = "id, name, email, role, availability, max_open, team_ids, created_at, phone_extension, skills, languages, last_seen_at, idle_away";

pub fn agent(row: &Row<'_>) -> rusqlite::Result<Agent> {
    Ok(Agent {
        id: parse("agent id", &row.get::<_, String>(0)?)?,
        name: row.get(1)?,
        email: EmailAddress::parse(&row.get::<_, String>(2)?)
            .map_err(|e| corrupt("email", &e.0))?,
        role: enum_of("role", &row.get::<_, String>(3)?, Role::parse)?,
        availability: enum_of(
            "availability",
            &row.get::<_, String>(4)?,
            Availability::parse,
        )?,
        max_open_conversations: row.get(5)?,
        team_ids: json("team ids", &row.get::<_, String>(6)?)?,
        created_at: time(row.get(7)?)?,
        phone_extension: row.get(8)?,
        skills: json("skills", &row.get::<_, String>(9)?)?,
        languages: json("languages", &row.get::<_, String>(10)?)?,
        last_seen_at: row.get::<_, Option<i64>>(11)?.map(time).transpose()?,
        idle_away: row.get(12)?,
    })
}

/// What [`team`] reads, in its order.
pub const TEAM_COLUMNS: &str = "id, name, created_at, assignment, bot_answers_first";

pub fn team(row: &Row<'_>) -> rusqlite::Result<Team> {
    let assignment: String = row.get(3)?;
    Ok(Team {
        id: parse("team id", &row.get::<_, String>(0)?)?,
        name: row.get(1)?,
        created_at: time(row.get(2)?)?,
        assignment: crate::model::Assignment::parse(&assignment).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                format!("`{assignment}` is not a way to assign").into(),
            )
        })?,
        bot_answers_first: row.get(4)?,
    })
}

/// A contact with its identities.
pub fn load_contact(conn: &Connection, id: &str) -> PortResult<Option<Contact>> {
    let head = conn
        .prepare_cached("SELECT id, name, merge_suggestions, created_at, updated_at, blocked_channels, tags, vip FROM contacts WHERE id = ?1")
        .and_then(|mut s| {
            s.query_row([id], |row| {
                Ok(Contact {
                    id: parse("contact id", &row.get::<_, String>(0)?)?,
                    name: row.get(1)?,
                    identities: Vec::new(),
                    merge_suggestions: json("merge suggestions", &row.get::<_, String>(2)?)?,
                    blocked_channels: json("blocked channels", &row.get::<_, String>(5)?)?,
                    tags: json("contact tags", &row.get::<_, String>(6)?)?,
                    vip: row.get(7)?,
                    created_at: time(row.get(3)?)?,
                    updated_at: time(row.get(4)?)?,
                })
            })
            .optional()
        })
        .map_err(sql)?;
    let Some(mut contact) = head else {
        return Ok(None);
    };
    contact.identities = conn
        .prepare_cached(
            "SELECT identity_key, proven, added_at, typed FROM contact_identities WHERE contact_id = ?1 ORDER BY added_at, identity_key",
        )
        .and_then(|mut s| {
            s.query_map([id], |row| {
                let key: String = row.get(0)?;
                Ok(ContactIdentity {
                    identity: Identity::from_key(&key).ok_or_else(|| corrupt("identity", &key))?,
                    proven: row.get(1)?,
                    typed: row.get(3)?,
                    added_at: time(row.get(2)?)?,
                })
            })?
            .collect()
        })
        .map_err(sql)?;
    Ok(Some(contact))
}
