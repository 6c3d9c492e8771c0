//! Incidents: each as a JSON row with its version; the links, counted by channel when
//! read; the updates as JSON rows; each update's reply per conversation with its outcome,
//! counted when read.

use super::Embedded;
use super::db::sql;
use super::rows::{self, decode, encode, millis, time};
use crate::model::{
    BurstWatch, Channel, Conversation, ConversationId, Event, Incident, IncidentId, IncidentLink,
    IncidentState, IncidentUpdate, IncidentUpdateId, Message, MessageId, UpdateProgress,
};
use crate::ports::{IncidentStore, Page, PageRequest, PortError, PortResult};
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;

/// Rows counted by one column: `sql` selects that column and `count(*)`, grouped, for
/// the id bound as `?1`.
fn grouped_counts(conn: &Connection, sql_text: &str, id: String) -> PortResult<Vec<(String, u32)>> {
    conn.prepare_cached(sql_text)
        .and_then(|mut s| {
            s.query_map([id], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        })
        .map_err(sql)
}

/// The incident in a row, with its version and its live counts.
fn incident_of(conn: &Connection, body: &str, version: i64) -> PortResult<Incident> {
    let incident: Incident = decode(body)?;
    let linked = grouped_counts(
        conn,
        "SELECT channel, count(*) FROM incident_links WHERE incident_id = ?1 GROUP BY channel",
        incident.id.to_string(),
    )?
    .into_iter()
    .filter_map(|(channel, n)| Channel::parse(&channel).map(|c| (c, n)))
    .collect();
    Ok(Incident {
        linked,
        version: version as u64,
        ..incident
    })
}

fn link_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<IncidentLink> {
    Ok(IncidentLink {
        incident_id: rows::parse("incident id", &row.get::<_, String>(0)?)?,
        conversation_id: rows::parse("conversation id", &row.get::<_, String>(1)?)?,
        channel: Channel::parse(&row.get::<_, String>(2)?)
            .ok_or_else(|| rows::corrupt("channel", "?"))?,
        linked_at: time(row.get(3)?)?,
        linked_by: row
            .get::<_, Option<String>>(4)?
            .map(|v| rows::parse("agent id", &v))
            .transpose()?,
        acknowledged: row.get(5)?,
    })
}

const LINK_COLUMNS: &str =
    "incident_id, conversation_id, channel, linked_at, linked_by, acknowledged";

/// The update in a row, with its progress counted from its replies.
fn update_of(conn: &Connection, body: &str, fanned_out: bool) -> PortResult<IncidentUpdate> {
    let update: IncidentUpdate = decode(body)?;
    let mut progress = UpdateProgress {
        fanned_out,
        ..UpdateProgress::default()
    };
    let counts = grouped_counts(
        conn,
        "SELECT outcome, count(*) FROM incident_replies WHERE update_id = ?1 GROUP BY outcome",
        update.id.to_string(),
    )?;
    for (outcome, n) in counts {
        progress.queued += n;
        match outcome.as_str() {
            "sent" => progress.sent += n,
            "failed" => progress.failed += n,
            _ => {}
        }
    }
    Ok(IncidentUpdate { progress, ..update })
}

#[async_trait]
impl IncidentStore for Embedded {
    async fn create_incident(&self, incident: &Incident) -> PortResult<()> {
        let stored = Incident {
            linked: BTreeMap::new(),
            version: 1,
            ..incident.clone()
        };
        let body = encode(&stored)?;
        self.db
            .write(move |conn| {
                let added = conn
                    .prepare_cached(
                        "INSERT INTO incidents (id, state, body, version) VALUES (?1, ?2, ?3, 1)
                         ON CONFLICT (id) DO NOTHING",
                    )
                    .and_then(|mut s| {
                        s.execute(params![stored.id.to_string(), stored.state.as_str(), body])
                    })
                    .map_err(sql)?;
                match added {
                    0 => Err(PortError::Conflict(format!(
                        "incident {} exists",
                        stored.id
                    ))),
                    _ => Ok(()),
                }
            })
            .await
    }

    async fn incident(&self, id: IncidentId) -> PortResult<Option<Incident>> {
        self.db
            .read(move |conn| {
                let row: Option<(String, i64)> = conn
                    .prepare_cached("SELECT body, version FROM incidents WHERE id = ?1")
                    .and_then(|mut s| {
                        s.query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
                            .optional()
                    })
                    .map_err(sql)?;
                row.map(|(body, v)| incident_of(conn, &body, v)).transpose()
            })
            .await
    }

    async fn list_incidents(
        &self,
        state: Option<IncidentState>,
        page: &PageRequest,
    ) -> PortResult<Page<Incident>> {
        let before = page
            .cursor
            .as_deref()
            .map(|c| {
                c.parse::<IncidentId>()
                    .map(|id| id.to_string())
                    .map_err(|_| {
                        PortError::Invalid("the cursor is not one this server issued".into())
                    })
            })
            .transpose()?;
        let limit = page.limit;
        self.db
            .read(move |conn| {
                let rows: Vec<(String, String, i64)> = conn
                    .prepare_cached(
                        "SELECT id, body, version FROM incidents
                         WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR id < ?2)
                         ORDER BY id DESC LIMIT ?3",
                    )
                    .and_then(|mut s| {
                        s.query_map(
                            params![state.map(|s| s.as_str()), before, i64::from(limit) + 1],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                        )?
                        .collect()
                    })
                    .map_err(sql)?;
                let more = rows.len() > limit as usize;
                let mut items = Vec::with_capacity(rows.len().min(limit as usize));
                for (_, body, v) in rows.iter().take(limit as usize) {
                    items.push(incident_of(conn, body, *v)?);
                }
                let next_cursor = more
                    .then(|| items.last().map(|i: &Incident| i.id.to_string()))
                    .flatten();
                Ok(Page { items, next_cursor })
            })
            .await
    }

    async fn save_incident(&self, incident: &Incident) -> PortResult<Incident> {
        let read = incident.version;
        let next = Incident {
            version: read + 1,
            ..incident.clone()
        };
        let body = encode(&Incident {
            linked: BTreeMap::new(),
            ..next.clone()
        })?;
        self.db
            .write(move |conn| {
                let changed = conn
                    .prepare_cached(
                        "UPDATE incidents SET state = ?2, body = ?3, version = version + 1
                         WHERE id = ?1 AND version = ?4",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            next.id.to_string(),
                            next.state.as_str(),
                            body,
                            read as i64
                        ])
                    })
                    .map_err(sql)?;
                match changed {
                    0 => Err(PortError::Conflict(format!(
                        "incident {} changed since version {read}",
                        next.id
                    ))),
                    _ => Ok(next),
                }
            })
            .await
    }

    async fn link_conversation(
        &self,
        link: &IncidentLink,
        conversation: &Conversation,
        event: &Event,
    ) -> PortResult<Conversation> {
        let read = conversation.version;
        let next = Conversation {
            version: read + 1,
            ..conversation.clone()
        };
        let (link, event) = (link.clone(), event.clone());
        self.db
            .write(move |conn| {
                let state: Option<String> = conn
                    .prepare_cached("SELECT state FROM incidents WHERE id = ?1")
                    .and_then(|mut s| {
                        s.query_row([link.incident_id.to_string()], |r| r.get(0))
                            .optional()
                    })
                    .map_err(sql)?;
                if state.as_deref() != Some(IncidentState::Active.as_str()) {
                    return Err(PortError::Conflict(format!(
                        "incident {} is not active",
                        link.incident_id
                    )));
                }
                rows::update_conversation(conn, &next, read)?;
                rows::insert_event(conn, &event)?;
                conn.prepare_cached(&format!(
                    "INSERT INTO incident_links ({LINK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (incident_id, conversation_id) DO NOTHING"
                ))
                .and_then(|mut s| {
                    s.execute(params![
                        link.incident_id.to_string(),
                        link.conversation_id.to_string(),
                        link.channel.as_str(),
                        millis(link.linked_at),
                        link.linked_by.map(|a| a.to_string()),
                        link.acknowledged
                    ])
                })
                .map_err(sql)?;
                Ok(next)
            })
            .await
    }

    async fn unlink_conversation(
        &self,
        incident: IncidentId,
        conversation: &Conversation,
        event: &Event,
    ) -> PortResult<Conversation> {
        let read = conversation.version;
        let next = Conversation {
            version: read + 1,
            ..conversation.clone()
        };
        let event = event.clone();
        self.db
            .write(move |conn| {
                rows::update_conversation(conn, &next, read)?;
                rows::insert_event(conn, &event)?;
                conn.prepare_cached(
                    "DELETE FROM incident_links WHERE incident_id = ?1 AND conversation_id = ?2",
                )
                .and_then(|mut s| s.execute([incident.to_string(), next.id.to_string()]))
                .map_err(sql)?;
                Ok(next)
            })
            .await
    }

    async fn incident_link(
        &self,
        incident: IncidentId,
        conversation: ConversationId,
    ) -> PortResult<Option<IncidentLink>> {
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {LINK_COLUMNS} FROM incident_links
                     WHERE incident_id = ?1 AND conversation_id = ?2"
                ))
                .and_then(|mut s| {
                    s.query_row([incident.to_string(), conversation.to_string()], link_of)
                        .optional()
                })
                .map_err(sql)
            })
            .await
    }

    async fn linked_conversations(
        &self,
        incident: IncidentId,
        after: Option<ConversationId>,
        limit: u32,
    ) -> PortResult<Vec<IncidentLink>> {
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {LINK_COLUMNS} FROM incident_links
                     WHERE incident_id = ?1 AND conversation_id > ?2
                     ORDER BY conversation_id LIMIT ?3"
                ))
                .and_then(|mut s| {
                    s.query_map(
                        params![
                            incident.to_string(),
                            after.map_or_else(String::new, |a| a.to_string()),
                            i64::from(limit)
                        ],
                        link_of,
                    )?
                    .collect()
                })
                .map_err(sql)
            })
            .await
    }

    async fn acknowledge(&self, incident: IncidentId, ack: &Message) -> PortResult<bool> {
        let ack = ack.clone();
        self.db
            .write(move |conn| {
                let changed = conn
                    .prepare_cached(
                        "UPDATE incident_links SET acknowledged = 1
                         WHERE incident_id = ?1 AND conversation_id = ?2 AND acknowledged = 0",
                    )
                    .and_then(|mut s| {
                        s.execute([incident.to_string(), ack.conversation_id.to_string()])
                    })
                    .map_err(sql)?;
                if changed == 0 {
                    return Ok(false);
                }
                rows::add_outbound(conn, &ack)?;
                Ok(true)
            })
            .await
    }

    async fn add_update(&self, update: &IncidentUpdate) -> PortResult<()> {
        let body = encode(update)?;
        let (id, incident) = (update.id.to_string(), update.incident_id.to_string());
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO incident_updates (id, incident_id, body) VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut s| s.execute([id, incident, body]))
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn updates(&self, incident: IncidentId) -> PortResult<Vec<IncidentUpdate>> {
        self.db
            .read(move |conn| {
                let rows: Vec<(String, bool)> = conn
                    .prepare_cached(
                        "SELECT body, fanned_out FROM incident_updates WHERE incident_id = ?1 ORDER BY id",
                    )
                    .and_then(|mut s| {
                        s.query_map([incident.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?
                            .collect()
                    })
                    .map_err(sql)?;
                rows.iter()
                    .map(|(body, done)| update_of(conn, body, *done))
                    .collect()
            })
            .await
    }

    async fn update(
        &self,
        incident: IncidentId,
        update: IncidentUpdateId,
    ) -> PortResult<Option<IncidentUpdate>> {
        self.db
            .read(move |conn| {
                let row: Option<(String, bool)> = conn
                    .prepare_cached(
                        "SELECT body, fanned_out FROM incident_updates WHERE id = ?1 AND incident_id = ?2",
                    )
                    .and_then(|mut s| {
                        s.query_row([update.to_string(), incident.to_string()], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })
                        .optional()
                    })
                    .map_err(sql)?;
                row.map(|(body, done)| update_of(conn, &body, done))
                    .transpose()
            })
            .await
    }

    async fn add_update_reply(
        &self,
        update: &IncidentUpdate,
        message: &Message,
    ) -> PortResult<bool> {
        let (update_id, message) = (update.id.to_string(), message.clone());
        self.db
            .write(move |conn| {
                let added = conn
                    .prepare_cached(
                        "INSERT INTO incident_replies (update_id, conversation_id, message_id, outcome)
                         VALUES (?1, ?2, ?3, 'queued') ON CONFLICT DO NOTHING",
                    )
                    .and_then(|mut s| {
                        s.execute([
                            update_id,
                            message.conversation_id.to_string(),
                            message.id.to_string(),
                        ])
                    })
                    .map_err(sql)?;
                if added == 0 {
                    return Ok(false);
                }
                rows::add_outbound(conn, &message)?;
                Ok(true)
            })
            .await
    }

    async fn update_reply(
        &self,
        update: IncidentUpdateId,
        conversation: ConversationId,
    ) -> PortResult<Option<MessageId>> {
        let id: Option<String> = self
            .db
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT message_id FROM incident_replies WHERE update_id = ?1 AND conversation_id = ?2",
                )
                .and_then(|mut s| {
                    s.query_row([update.to_string(), conversation.to_string()], |r| r.get(0))
                        .optional()
                })
                .map_err(sql)
            })
            .await?;
        id.map(|id| id.parse().map_err(|e| PortError::Internal(format!("{e}"))))
            .transpose()
    }

    async fn settle_update_reply(
        &self,
        _incident: IncidentId,
        update: IncidentUpdateId,
        conversation: ConversationId,
        sent: bool,
    ) -> PortResult<bool> {
        let outcome = if sent { "sent" } else { "failed" };
        self.db
            .write(move |conn| {
                let changed = conn
                    .prepare_cached(
                        "UPDATE incident_replies SET outcome = ?3
                         WHERE update_id = ?1 AND conversation_id = ?2 AND outcome = 'queued'",
                    )
                    .and_then(|mut s| {
                        s.execute([update.to_string(), conversation.to_string(), outcome.into()])
                    })
                    .map_err(sql)?;
                Ok(changed == 1)
            })
            .await
    }

    async fn burst_watch(&self) -> PortResult<BurstWatch> {
        let body: Option<String> = self
            .db
            .read(|conn| {
                conn.prepare_cached("SELECT body FROM incident_watch WHERE id = 1")
                    .and_then(|mut s| s.query_row([], |row| row.get(0)).optional())
                    .map_err(sql)
            })
            .await?;
        body.map_or_else(|| Ok(BurstWatch::default()), |b| decode(&b))
    }

    async fn save_burst_watch(&self, watch: &BurstWatch) -> PortResult<()> {
        let body = encode(watch)?;
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO incident_watch (id, body) VALUES (1, ?1)
                     ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                )
                .and_then(|mut s| s.execute([body]))
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn finish_fan_out(
        &self,
        incident: IncidentId,
        update: IncidentUpdateId,
    ) -> PortResult<()> {
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE incident_updates SET fanned_out = 1 WHERE id = ?1 AND incident_id = ?2",
                )
                .and_then(|mut s| s.execute([update.to_string(), incident.to_string()]))
                .map_err(sql)?;
                Ok(())
            })
            .await
    }
}
