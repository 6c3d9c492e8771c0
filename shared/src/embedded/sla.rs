//! Service levels: calendars and policies as JSON rows, and each conversation's clocks
//! with their due and wake times in indexed columns; routing rules, canned replies and
//! macros as JSON rows too, and each agent's notification settings.

use super::Embedded;
use super::db::sql;
use super::rows::{encode, millis};
use crate::model::{
    AgentId, AgentNotifications, Calendar, CalendarId, CannedReply, CannedReplyId, ConversationId,
    ConversationSla, Macro, MacroId, Rule, RuleId, SlaPolicy, SlaPolicyId, TimerPlace,
};
use crate::ports::{
    CannedStore, DuePosition, NoticeStore, PortError, PortResult, RuleStore, SlaStore,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

fn decode<T: serde::de::DeserializeOwned>(body: &str) -> rusqlite::Result<T> {
    serde_json::from_str(body).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

impl Embedded {
    /// Every row of a table of JSON bodies, by id (first made first).
    async fn bodies<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        table: &'static str,
    ) -> PortResult<Vec<T>> {
        self.db
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(&format!("SELECT body FROM {table} ORDER BY id"))
                    .map_err(sql)?;
                let rows = statement
                    .query_map([], |row| decode(&row.get::<_, String>(0)?))
                    .map_err(sql)?;
                rows.collect::<rusqlite::Result<Vec<T>>>().map_err(sql)
            })
            .await
    }

    /// One row of a table of JSON bodies.
    async fn body<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        table: &'static str,
        id: String,
    ) -> PortResult<Option<T>> {
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!("SELECT body FROM {table} WHERE id = ?1"))
                    .and_then(|mut s| {
                        s.query_row([id], |row| decode(&row.get::<_, String>(0)?))
                            .optional()
                    })
                    .map_err(sql)
            })
            .await
    }

    async fn put_body(&self, table: &'static str, id: String, body: String) -> PortResult<()> {
        self.db
            .write(move |conn| {
                conn.prepare_cached(&format!(
                    "INSERT INTO {table} (id, body) VALUES (?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET body = excluded.body"
                ))
                .and_then(|mut s| s.execute([id, body]))
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn delete_body(&self, table: &'static str, id: String) -> PortResult<bool> {
        self.db
            .write(move |conn| {
                conn.prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1"))
                    .and_then(|mut s| s.execute([id]))
                    .map(|n| n > 0)
                    .map_err(sql)
            })
            .await
    }

    async fn sla_rows(
        &self,
        query: &'static str,
        bind: (Option<i64>, Option<String>),
        limit: u32,
    ) -> PortResult<Vec<ConversationSla>> {
        self.db
            .read(move |conn| {
                let mut statement = conn.prepare_cached(query).map_err(sql)?;
                let rows = statement
                    .query_map(params![bind.0, bind.1, limit], |row| {
                        decode(&row.get::<_, String>(0)?)
                    })
                    .map_err(sql)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql)
            })
            .await
    }
}

#[async_trait]
impl SlaStore for Embedded {
    async fn calendars(&self) -> PortResult<Vec<Calendar>> {
        self.bodies("calendars").await
    }

    async fn save_calendar(&self, calendar: &Calendar) -> PortResult<()> {
        self.put_body("calendars", calendar.id.to_string(), encode(calendar)?)
            .await
    }

    async fn delete_calendar(&self, id: CalendarId) -> PortResult<bool> {
        self.delete_body("calendars", id.to_string()).await
    }

    async fn sla_policies(&self) -> PortResult<Vec<SlaPolicy>> {
        self.bodies("sla_policies").await
    }

    async fn save_sla_policy(&self, policy: &SlaPolicy) -> PortResult<()> {
        self.put_body("sla_policies", policy.id.to_string(), encode(policy)?)
            .await
    }

    async fn delete_sla_policy(&self, id: SlaPolicyId) -> PortResult<bool> {
        self.delete_body("sla_policies", id.to_string()).await
    }

    async fn conversation_sla(&self, id: ConversationId) -> PortResult<Option<ConversationSla>> {
        self.db
            .read(move |conn| {
                conn.prepare_cached("SELECT body FROM conversation_sla WHERE conversation_id = ?1")
                    .and_then(|mut s| {
                        s.query_row([id.to_string()], |row| decode(&row.get::<_, String>(0)?))
                            .optional()
                    })
                    .map_err(sql)
            })
            .await
    }

    async fn save_conversation_sla(&self, sla: &ConversationSla) -> PortResult<ConversationSla> {
        let saved = ConversationSla {
            version: sla.version + 1,
            ..sla.clone()
        };
        let body = encode(&saved)?;
        let read = i64::try_from(sla.version)
            .map_err(|_| PortError::Invalid("a version past i64".into()))?;
        let stored = saved.clone();
        self.db
            .write(move |conn| {
                let id = stored.conversation_id.to_string();
                let due = stored.due_at.map(millis);
                let wake = stored.wake_at.map(millis);
                let changed = if read == 0 {
                    conn.prepare_cached(
                        "INSERT INTO conversation_sla (conversation_id, body, due_at, wake_at, version)
                         VALUES (?1, ?2, ?3, ?4, 1) ON CONFLICT (conversation_id) DO NOTHING",
                    )
                    .and_then(|mut s| s.execute(params![id, body, due, wake]))
                } else {
                    conn.prepare_cached(
                        "UPDATE conversation_sla SET body = ?2, due_at = ?3, wake_at = ?4,
                            version = version + 1
                         WHERE conversation_id = ?1 AND version = ?5",
                    )
                    .and_then(|mut s| s.execute(params![id, body, due, wake, read]))
                }
                .map_err(sql)?;
                if changed == 0 {
                    return Err(PortError::Conflict(
                        "the conversation's SLA clocks changed since they were read".into(),
                    ));
                }
                Ok(stored)
            })
            .await
    }

    async fn slas_by_due(
        &self,
        after: Option<DuePosition>,
        limit: u32,
    ) -> PortResult<Vec<ConversationSla>> {
        let bind = after.map_or((None, None), |(at, id)| {
            (Some(millis(at)), Some(id.to_string()))
        });
        self.sla_rows(
            "SELECT body FROM conversation_sla
             WHERE due_at IS NOT NULL AND (?1 IS NULL OR (due_at, conversation_id) > (?1, ?2))
             ORDER BY due_at, conversation_id LIMIT ?3",
            bind,
            limit,
        )
        .await
    }

    async fn slas_to_wake(
        &self,
        until: DateTime<Utc>,
        limit: u32,
    ) -> PortResult<Vec<ConversationSla>> {
        self.sla_rows(
            "SELECT body FROM conversation_sla
             WHERE wake_at IS NOT NULL AND wake_at <= ?1 AND ?2 IS NULL
             ORDER BY wake_at, conversation_id LIMIT ?3",
            (Some(millis(until)), None),
            limit,
        )
        .await
    }
}

#[async_trait]
impl RuleStore for Embedded {
    async fn rules(&self) -> PortResult<Vec<Rule>> {
        self.bodies("rules").await
    }

    async fn save_rule(&self, rule: &Rule) -> PortResult<()> {
        self.put_body("rules", rule.id.to_string(), encode(rule)?)
            .await
    }

    async fn delete_rule(&self, id: RuleId) -> PortResult<bool> {
        self.delete_body("rules", id.to_string()).await
    }

    async fn timer_place(&self, name: &str) -> PortResult<Option<TimerPlace>> {
        self.body("rule_timers", name.to_owned()).await
    }

    async fn save_timer_place(&self, name: &str, place: &TimerPlace) -> PortResult<()> {
        self.put_body("rule_timers", name.to_owned(), encode(place)?)
            .await
    }
}

#[async_trait]
impl CannedStore for Embedded {
    async fn canned_replies(&self) -> PortResult<Vec<CannedReply>> {
        self.bodies("canned_replies").await
    }

    async fn save_canned_reply(&self, reply: &CannedReply) -> PortResult<()> {
        self.put_body("canned_replies", reply.id.to_string(), encode(reply)?)
            .await
    }

    async fn delete_canned_reply(&self, id: CannedReplyId) -> PortResult<bool> {
        self.delete_body("canned_replies", id.to_string()).await
    }

    async fn macros(&self) -> PortResult<Vec<Macro>> {
        self.bodies("macros").await
    }

    async fn save_macro(&self, m: &Macro) -> PortResult<()> {
        self.put_body("macros", m.id.to_string(), encode(m)?).await
    }

    async fn delete_macro(&self, id: MacroId) -> PortResult<bool> {
        self.delete_body("macros", id.to_string()).await
    }
}

#[async_trait]
impl NoticeStore for Embedded {
    async fn agent_notifications(&self, id: AgentId) -> PortResult<Option<AgentNotifications>> {
        self.body("agent_notifications", id.to_string()).await
    }

    async fn save_agent_notifications(&self, settings: &AgentNotifications) -> PortResult<()> {
        self.put_body(
            "agent_notifications",
            settings.agent_id.to_string(),
            encode(settings)?,
        )
        .await
    }
}
