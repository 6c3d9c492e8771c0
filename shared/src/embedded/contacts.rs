use super::Embedded;
use super::cursor;
use super::db::sql;
use super::rows::{self, millis, to_json};
use crate::model::{
    AgentId, Contact, ContactId, ContactProfile, EventKind, TimelineItem, ascii_digits,
};
use crate::ports::{ContactStore, Page, PageRequest, PortError, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

#[async_trait]
impl ContactStore for Embedded {
    async fn search_contacts(&self, query: &str, page: &PageRequest) -> PortResult<Page<Contact>> {
        let needle = ascii_digits(query.trim()).to_lowercase();
        let after = page.cursor.as_deref().map(cursor::decode).transpose()?;
        let limit = page.limit as usize;
        self.db
            .read(move |conn| {
                let pattern = format!(
                    "%{}%",
                    needle
                        .replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                );
                let (after_ms, after_id) = after.unwrap_or((i64::MAX, String::new()));
                // With no cursor, `(i64::MAX, '')` is above every row.
                let ids: Vec<(String, i64)> = conn
                    .prepare_cached(
                        "SELECT c.id, c.created_at FROM contacts c
                         WHERE (?1 = '' OR lower(c.name) LIKE ?2 ESCAPE '\\' OR EXISTS (
                                SELECT 1 FROM contact_identities i
                                WHERE i.contact_id = c.id AND i.identity_key LIKE ?2 ESCAPE '\\'))
                           AND (c.created_at, c.id) < (?3, ?4)
                         ORDER BY c.created_at DESC, c.id DESC LIMIT ?5",
                    )
                    .and_then(|mut s| {
                        s.query_map(
                            params![needle, pattern, after_ms, after_id, (limit + 1) as i64],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )?
                        .collect()
                    })
                    .map_err(sql)?;
                let next_cursor = (ids.len() > limit)
                    .then(|| cursor::encode(ids[limit - 1].1, &ids[limit - 1].0));
                let mut items = Vec::with_capacity(limit);
                for (id, _) in ids.iter().take(limit) {
                    items.extend(rows::load_contact(conn, id)?);
                }
                Ok(Page { items, next_cursor })
            })
            .await
    }

    async fn contact(&self, id: ContactId) -> PortResult<Option<Contact>> {
        self.db
            .read(move |conn| rows::load_contact(conn, &id.to_string()))
            .await
    }

    async fn set_contact_profile(
        &self,
        id: ContactId,
        profile: &ContactProfile,
        at: DateTime<Utc>,
    ) -> PortResult<Option<Contact>> {
        let (tags, vip) = (to_json(&profile.tags), profile.vip);
        self.db
            .write(move |conn| {
                let changed = conn
                    .prepare_cached(
                        "UPDATE contacts SET tags = ?2, vip = ?3, updated_at = ?4 WHERE id = ?1",
                    )
                    .and_then(|mut s| s.execute(params![id.to_string(), tags, vip, millis(at)]))
                    .map_err(sql)?;
                if changed == 0 {
                    return Ok(None);
                }
                rows::load_contact(conn, &id.to_string())
            })
            .await
    }

    async fn contact_timeline(
        &self,
        id: ContactId,
        page: &PageRequest,
    ) -> PortResult<Page<TimelineItem>> {
        let below = page.cursor.as_deref().map(cursor::decode_seq).transpose()?;
        let limit = page.limit as usize;
        self.db
            .read(move |conn| super::history::contact_timeline(conn, id, below, limit))
            .await
    }

    async fn merge_contacts(
        &self,
        survivor: ContactId,
        absorbed: ContactId,
        actor: AgentId,
        at: DateTime<Utc>,
    ) -> PortResult<Contact> {
        self.db
            .write(move |conn| merge(conn, survivor, absorbed, Some(actor), at))
            .await
    }
}

/// Folds `absorbed` into `survivor` inside the caller's transaction; `actor` is none
/// when routing merged them (a customer proved both identities theirs).
pub(super) fn merge(
    conn: &Connection,
    survivor: ContactId,
    absorbed: ContactId,
    actor: Option<AgentId>,
    at: DateTime<Utc>,
) -> PortResult<Contact> {
    if survivor == absorbed {
        return Err(PortError::Invalid(
            "a contact cannot be merged into itself".into(),
        ));
    }
    let (keep, gone) = (survivor.to_string(), absorbed.to_string());
    let survivor_contact = rows::load_contact(conn, &keep)?.ok_or(PortError::NotFound)?;
    let absorbed_contact = rows::load_contact(conn, &gone)?.ok_or(PortError::NotFound)?;

    let merged = survivor_contact.absorbing(&absorbed_contact, at);
    // The absorbed contact's holdings go first: one proven there may now be proven here.
    exec(
        conn,
        "DELETE FROM contact_identities WHERE contact_id = ?1",
        params![gone],
    )?;
    for held in &merged.identities {
        exec(
            conn,
            "INSERT INTO contact_identities (identity_key, contact_id, proven, typed, added_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (identity_key, contact_id) DO UPDATE SET proven = excluded.proven, typed = excluded.typed",
            params![held.identity.key(), keep, held.proven, held.typed, millis(held.added_at)],
        )?;
    }

    let moved: Vec<String> = conn
        .prepare_cached("SELECT id FROM conversations WHERE contact_id = ?1")
        .and_then(|mut s| s.query_map([&gone], |r| r.get(0))?.collect())
        .map_err(sql)?;
    exec(
        conn,
        "UPDATE conversations SET contact_id = ?1, version = version + 1, updated_at = ?3 WHERE contact_id = ?2",
        params![keep, gone, millis(at)],
    )?;
    exec(
        conn,
        "UPDATE messages SET contact_id = ?1,
            author = CASE WHEN json_extract(author, '$.type') = 'contact' THEN json_set(author, '$.contact_id', ?1) ELSE author END
         WHERE contact_id = ?2",
        params![keep, gone],
    )?;
    for conversation in &moved {
        let event = crate::model::Event::new(
            rows::parse("conversation id", conversation).map_err(sql)?,
            EventKind::ContactsMerged { survivor, absorbed },
            actor,
            at,
        );
        rows::insert_event(conn, &event)?;
    }

    exec(
        conn,
        "UPDATE contacts SET name = ?2, merge_suggestions = ?3, updated_at = ?4, blocked_channels = ?5,
         tags = ?6, vip = ?7 WHERE id = ?1",
        params![
            keep,
            merged.name,
            to_json(&merged.merge_suggestions),
            millis(at),
            to_json(&merged.blocked_channels),
            to_json(&merged.tags),
            merged.vip
        ],
    )?;
    exec(conn, "DELETE FROM contacts WHERE id = ?1", params![gone])?;
    rows::load_contact(conn, &keep)?.ok_or(PortError::NotFound)
}

fn exec(conn: &Connection, sql_text: &str, args: impl rusqlite::Params) -> PortResult<usize> {
    conn.prepare_cached(sql_text)
        .and_then(|mut s| s.execute(args))
        .map_err(sql)
}
