//! Erasure on SQLite: the holdings read in one snapshot, a plan applied in one write that
//! first checks it was made on what is stored now.

use super::Embedded;
use super::cursor;
use super::db::sql;
use super::rows::{self, millis, to_json};
use crate::model::{ContactId, ConversationId, Erasure, MergeSuggestion, TimelineItem};
use crate::ports::{ErasureStore, Page, PageRequest, PortError, PortResult};
use crate::services::erasure::{
    ContactHoldings, ConversationHoldings, ErasurePlan, IdentityHolding,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

/// Expired digests of erased source ids removed by one call.
const PURGE_BATCH: i64 = 1000;

#[async_trait]
impl ErasureStore for Embedded {
    async fn contact_holdings(&self, id: ContactId) -> PortResult<Option<ContactHoldings>> {
        self.db.read(move |conn| contact_holdings(conn, id)).await
    }

    async fn conversation_holdings(
        &self,
        id: ConversationId,
    ) -> PortResult<Option<ConversationHoldings>> {
        self.db
            .read(move |conn| conversation_holdings(conn, id))
            .await
    }

    async fn apply_erasure(&self, plan: &ErasurePlan) -> PortResult<()> {
        let plan = plan.clone();
        self.db.write(move |conn| apply(conn, &plan)).await
    }

    async fn resolved_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> PortResult<Vec<ConversationId>> {
        self.db
            .read(move |conn| {
                let ids: Vec<String> = conn
                    .prepare_cached(
                        "SELECT id FROM conversations WHERE status = 'resolved' AND updated_at < ?1
                         ORDER BY updated_at, id LIMIT ?2",
                    )
                    .and_then(|mut s| {
                        s.query_map(params![millis(before), limit], |r| r.get(0))?
                            .collect()
                    })
                    .map_err(sql)?;
                ids.iter()
                    .map(|id| rows::parse("conversation id", id).map_err(sql))
                    .collect()
            })
            .await
    }

    async fn erasures(&self, page: &PageRequest) -> PortResult<Page<Erasure>> {
        let below = page.cursor.as_deref().map(decode_id).transpose()?;
        let limit = page.limit as usize;
        self.db
            .read(move |conn| {
                let mut items: Vec<Erasure> = conn
                    .prepare_cached(
                        "SELECT id, reason, erased_at, actor_id, contact_id, conversations, messages,
                                notes, events, files
                         FROM erasures WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
                    )
                    .and_then(|mut s| {
                        s.query_map(
                            params![below.unwrap_or_else(|| "~".into()), (limit + 1) as i64],
                            erasure,
                        )?
                        .collect()
                    })
                    .map_err(sql)?;
                let next_cursor = (items.len() > limit).then(|| {
                    items.truncate(limit);
                    cursor::encode_seq(&items[limit - 1].id.ulid().to_string())
                });
                Ok(Page { items, next_cursor })
            })
            .await
    }
}

/// A page cursor of the erasure list: the last id shown, as its ULID.
fn decode_id(cursor: &str) -> PortResult<String> {
    let ulid = cursor::decode_seq(cursor)?;
    Ok(format!("er_{}", ulid.to_ascii_lowercase()))
}

fn erasure(row: &rusqlite::Row<'_>) -> rusqlite::Result<Erasure> {
    let reason: String = row.get(1)?;
    Ok(Erasure {
        id: rows::parse("erasure id", &row.get::<_, String>(0)?)?,
        reason: crate::model::ErasureReason::parse(&reason)
            .ok_or_else(|| rows::corrupt("erasure reason", &reason))?,
        erased_at: rows::time(row.get(2)?)?,
        actor_id: row
            .get::<_, Option<String>>(3)?
            .map(|v| rows::parse("agent id", &v))
            .transpose()?,
        contact_id: row
            .get::<_, Option<String>>(4)?
            .map(|v| rows::parse("contact id", &v))
            .transpose()?,
        conversations: row.get(5)?,
        messages: row.get(6)?,
        notes: row.get(7)?,
        events: row.get(8)?,
        files: row.get(9)?,
    })
}

fn strings(conn: &Connection, sql_text: &str, arg: &str) -> PortResult<Vec<String>> {
    conn.prepare_cached(sql_text)
        .and_then(|mut s| s.query_map([arg], |r| r.get(0))?.collect())
        .map_err(sql)
}

fn contact_holdings(conn: &Connection, id: ContactId) -> PortResult<Option<ContactHoldings>> {
    let key = id.to_string();
    let Some(contact) = rows::load_contact(conn, &key)? else {
        return Ok(None);
    };
    let mut identities = Vec::with_capacity(contact.identities.len());
    for held in &contact.identities {
        let identity_key = held.identity.key();
        let holders = strings(
            conn,
            "SELECT contact_id FROM contact_identities WHERE identity_key = ?1",
            &identity_key,
        )?;
        let proven = strings(
            conn,
            "SELECT contact_id FROM contact_identities WHERE identity_key = ?1 AND proven = 1",
            &identity_key,
        )?;
        identities.push(IdentityHolding {
            identity: held.identity.clone(),
            holders: parse_all("contact id", &holders)?,
            proven_marker: parse_all("contact id", &proven)?.into_iter().next(),
            head: 0,
        });
    }
    let conversations = strings(
        conn,
        "SELECT id FROM conversations WHERE contact_id = ?1 ORDER BY created_at, id",
        &key,
    )?;
    Ok(Some(ContactHoldings {
        stamp: millis(contact.updated_at) as u64,
        contact,
        identities,
        conversations: parse_all("conversation id", &conversations)?,
    }))
}

fn parse_all<T: std::str::FromStr>(what: &str, values: &[String]) -> PortResult<Vec<T>> {
    values
        .iter()
        .map(|v| rows::parse(what, v).map_err(sql))
        .collect()
}

fn conversation_holdings(
    conn: &Connection,
    id: ConversationId,
) -> PortResult<Option<ConversationHoldings>> {
    let key = id.to_string();
    let Some(conversation) = rows::get_conversation(conn, &key)? else {
        return Ok(None);
    };
    let mut items: Vec<(String, TimelineItem)> = conn
        .prepare_cached(&format!(
            "SELECT seq, {} FROM messages WHERE conversation_id = ?1",
            rows::MESSAGE_COLUMNS
        ))
        .and_then(|mut s| {
            s.query_map([&key], |r| {
                Ok((r.get(0)?, TimelineItem::Message(rows::message_from(r, 1)?)))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql)?;
    let notes = conn
        .prepare_cached(
            "SELECT seq, id, conversation_id, author_id, text, created_at FROM notes WHERE conversation_id = ?1",
        )
        .and_then(|mut s| {
            s.query_map([&key], |r| {
                Ok((r.get(0)?, TimelineItem::Note(rows::note_from(r, 1)?)))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql)?;
    let events = conn
        .prepare_cached(
            "SELECT seq, id, conversation_id, kind, actor_id, created_at FROM events WHERE conversation_id = ?1",
        )
        .and_then(|mut s| {
            s.query_map([&key], |r| {
                Ok((r.get(0)?, TimelineItem::Event(rows::event_from(r, 1)?)))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql)?;
    items.extend(notes);
    items.extend(events);
    items.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Some(ConversationHoldings {
        conversation,
        items: items.into_iter().map(|(_, item)| item).collect(),
        provider_ids: strings(
            conn,
            "SELECT provider_id FROM messages WHERE conversation_id = ?1 AND provider_id IS NOT NULL",
            &key,
        )?,
        links: strings(
            conn,
            "SELECT link_hash FROM customer_links WHERE conversation_id = ?1",
            &key,
        )?,
    }))
}

fn exec(conn: &Connection, sql_text: &str, args: impl rusqlite::Params) -> PortResult<usize> {
    conn.prepare_cached(sql_text)
        .and_then(|mut s| s.execute(args))
        .map_err(sql)
}

fn conflict(what: String) -> PortError {
    PortError::Conflict(what)
}

/// Checks the plan against what is stored, then removes everything it names (and
/// anything added to its conversations meanwhile that left their version alone: notes
/// and events), in the writer's transaction.
fn apply(conn: &Connection, plan: &ErasurePlan) -> PortResult<()> {
    for c in &plan.conversations {
        let version: Option<i64> = conn
            .prepare_cached("SELECT version FROM conversations WHERE id = ?1")
            .and_then(|mut s| s.query_row([c.id.to_string()], |r| r.get(0)).optional())
            .map_err(sql)?;
        if version.map(|v| v as u64) != Some(c.version) {
            return Err(conflict(format!("conversation {} changed or went", c.id)));
        }
    }
    if let Some(contact) = &plan.contact {
        let key = contact.id.to_string();
        let updated: Option<i64> = conn
            .prepare_cached("SELECT updated_at FROM contacts WHERE id = ?1")
            .and_then(|mut s| s.query_row([&key], |r| r.get(0)).optional())
            .map_err(sql)?;
        if updated.is_none_or(|u| u as u64 != contact.stamp) {
            return Err(conflict(format!("contact {} changed", contact.id)));
        }
        let planned: Vec<String> = plan
            .conversations
            .iter()
            .map(|c| c.id.to_string())
            .collect();
        let theirs = strings(
            conn,
            "SELECT id FROM conversations WHERE contact_id = ?1",
            &key,
        )?;
        if theirs.iter().any(|id| !planned.contains(id)) {
            return Err(conflict(format!(
                "contact {} has a conversation the plan has not",
                contact.id
            )));
        }
    }

    for c in &plan.conversations {
        let id = c.id.to_string();
        for statement in [
            "DELETE FROM messages WHERE conversation_id = ?1",
            "DELETE FROM notes WHERE conversation_id = ?1",
            "DELETE FROM events WHERE conversation_id = ?1",
            "DELETE FROM customer_links WHERE conversation_id = ?1",
            "DELETE FROM conversation_tags WHERE conversation_id = ?1",
            "DELETE FROM conversation_sla WHERE conversation_id = ?1",
            "DELETE FROM report_tracks WHERE conversation_id = ?1",
            "DELETE FROM surveys WHERE conversation_id = ?1",
            "DELETE FROM survey_waits WHERE conversation_id = ?1",
            "DELETE FROM conversations WHERE id = ?1",
            // The event log names what it erases by id: those entries go too.
            "DELETE FROM change_log WHERE conversation_id = ?1",
            // So do the webhook deliveries that carry them, with what endpoints answered.
            "DELETE FROM webhook_deliveries WHERE conversation_id = ?1",
        ] {
            exec(conn, statement, [&id])?;
        }
    }
    // Digests past their time go here (DynamoDB's TTL removes them there); routing
    // ignores one that lingers.
    exec(
        conn,
        "DELETE FROM erased_sources WHERE digest IN
         (SELECT digest FROM erased_sources WHERE expires_at <= ?1 LIMIT ?2)",
        params![millis(plan.record.erased_at), PURGE_BATCH],
    )?;
    let expires = millis(plan.sources_expire_at);
    for digest in &plan.erased_sources {
        exec(
            conn,
            "INSERT INTO erased_sources (digest, expires_at) VALUES (?1, ?2)
             ON CONFLICT (digest) DO UPDATE SET expires_at = excluded.expires_at",
            params![digest, expires],
        )?;
    }
    if let Some(contact) = &plan.contact {
        let key = contact.id.to_string();
        for other in &contact.unsuggest {
            unsuggest(conn, &other.to_string(), contact.id)?;
        }
        exec(
            conn,
            "DELETE FROM contact_identities WHERE contact_id = ?1",
            [&key],
        )?;
        exec(conn, "DELETE FROM contacts WHERE id = ?1", [&key])?;
        exec(
            conn,
            "DELETE FROM survey_marks WHERE contact_id = ?1",
            [&key],
        )?;
        exec(conn, "DELETE FROM change_log WHERE contact_id = ?1", [&key])?;
        exec(
            conn,
            "DELETE FROM webhook_deliveries WHERE contact_id = ?1",
            [&key],
        )?;
    }
    let r = &plan.record;
    exec(
        conn,
        "INSERT INTO erasures (id, reason, erased_at, actor_id, contact_id, conversations, messages,
            notes, events, files) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            r.id.to_string(),
            r.reason.as_str(),
            millis(r.erased_at),
            r.actor_id.map(|a| a.to_string()),
            r.contact_id.map(|c| c.to_string()),
            r.conversations,
            r.messages,
            r.notes,
            r.events,
            r.files,
        ],
    )?;
    Ok(())
}

/// `other`'s merge suggestions without those naming `erased`.
fn unsuggest(conn: &Connection, other: &str, erased: ContactId) -> PortResult<()> {
    let stored: Option<String> = conn
        .prepare_cached("SELECT merge_suggestions FROM contacts WHERE id = ?1")
        .and_then(|mut s| s.query_row([other], |r| r.get(0)).optional())
        .map_err(sql)?;
    let Some(stored) = stored else {
        return Ok(());
    };
    let mut suggestions: Vec<MergeSuggestion> =
        rows::json("merge suggestions", &stored).map_err(sql)?;
    let before = suggestions.len();
    suggestions.retain(|s| s.other_contact_id != erased);
    if suggestions.len() != before {
        exec(
            conn,
            "UPDATE contacts SET merge_suggestions = ?2 WHERE id = ?1",
            params![other, to_json(&suggestions)],
        )?;
    }
    Ok(())
}
