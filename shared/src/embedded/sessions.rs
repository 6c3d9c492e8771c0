//! Agents' passwords and browser sessions, in two tables (migration 24).

use super::Embedded;
use super::db::sql;
use super::rows::{millis, opt_time, parse, time};
use crate::model::AgentId;
use crate::ports::{Credentials, PortResult, Session, SessionStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

const SESSION_COLUMNS: &str =
    "id, agent_id, secret_hash, csrf_token, created_at, expires_at, user_agent";

const CREDENTIAL_COLUMNS: &str = "password_hash, failures, locked_until, sessions_valid_after";

fn credentials(row: &Row<'_>) -> rusqlite::Result<Credentials> {
    Ok(Credentials {
        password_hash: row.get(0)?,
        failures: row.get(1)?,
        locked_until: opt_time(row.get(2)?)?,
        sessions_valid_after: opt_time(row.get(3)?)?,
    })
}

fn session(row: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: row.get(0)?,
        agent_id: parse("agent id", &row.get::<_, String>(1)?)?,
        secret_hash: row.get(2)?,
        csrf_token: row.get(3)?,
        created_at: time(row.get(4)?)?,
        expires_at: time(row.get(5)?)?,
        user_agent: row.get(6)?,
    })
}

#[async_trait]
impl SessionStore for Embedded {
    async fn credentials(&self, agent: AgentId) -> PortResult<Credentials> {
        let found = self
            .db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {CREDENTIAL_COLUMNS} FROM agent_credentials WHERE agent_id = ?1"
                ))
                .and_then(|mut s| s.query_row([agent.to_string()], credentials).optional())
                .map_err(sql)
            })
            .await?;
        Ok(found.unwrap_or_default())
    }

    async fn set_password(
        &self,
        agent: AgentId,
        hash: Option<&str>,
        at: DateTime<Utc>,
    ) -> PortResult<()> {
        let hash = hash.map(str::to_owned);
        let at = millis(at);
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO agent_credentials (agent_id, password_hash, sessions_valid_after)
                     VALUES (?1, ?2, ?3)
                     ON CONFLICT (agent_id) DO UPDATE SET password_hash = excluded.password_hash,
                         failures = 0, locked_until = NULL,
                         sessions_valid_after = excluded.sessions_valid_after",
                )
                .and_then(|mut s| s.execute(params![agent.to_string(), hash, at]))
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn count_failure(
        &self,
        agent: AgentId,
        lock_after: u32,
        lock_until: DateTime<Utc>,
    ) -> PortResult<Credentials> {
        let until = millis(lock_until);
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO agent_credentials (agent_id, failures) VALUES (?1, 1)
                     ON CONFLICT (agent_id) DO UPDATE SET failures = failures + 1",
                )
                .and_then(|mut s| s.execute([agent.to_string()]))
                .map_err(sql)?;
                conn.prepare_cached(
                    "UPDATE agent_credentials SET failures = 0, locked_until = ?3
                     WHERE agent_id = ?1 AND failures >= ?2",
                )
                .and_then(|mut s| s.execute(params![agent.to_string(), lock_after, until]))
                .map_err(sql)?;
                conn.prepare_cached(&format!(
                    "SELECT {CREDENTIAL_COLUMNS} FROM agent_credentials WHERE agent_id = ?1"
                ))
                .and_then(|mut s| s.query_row([agent.to_string()], credentials))
                .map_err(sql)
            })
            .await
    }

    async fn clear_failures(&self, agent: AgentId) -> PortResult<()> {
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE agent_credentials SET failures = 0 WHERE agent_id = ?1 AND failures > 0",
                )
                .and_then(|mut s| s.execute([agent.to_string()]))
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn create_session(&self, new: &Session) -> PortResult<()> {
        let new = new.clone();
        let now = millis(Utc::now());
        self.db
            .write(move |conn| {
                // Expired sessions go as new ones come: the table holds the live ones.
                conn.prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")
                    .and_then(|mut s| s.execute([now]))
                    .map_err(sql)?;
                conn.prepare_cached(&format!(
                    "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ))
                .and_then(|mut s| {
                    s.execute(params![
                        new.id,
                        new.agent_id.to_string(),
                        new.secret_hash,
                        new.csrf_token,
                        millis(new.created_at),
                        millis(new.expires_at),
                        new.user_agent,
                    ])
                })
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn session(&self, id: &str) -> PortResult<Option<Session>> {
        let id = id.to_owned();
        let now = millis(Utc::now());
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1 AND expires_at > ?2"
                ))
                .and_then(|mut s| s.query_row(params![id, now], session).optional())
                .map_err(sql)
            })
            .await
    }

    async fn sessions(&self) -> PortResult<Vec<Session>> {
        let now = millis(Utc::now());
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions WHERE expires_at > ?1
                     ORDER BY created_at DESC, id"
                ))
                .and_then(|mut s| {
                    s.query_map([now], session)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql)
            })
            .await
    }

    async fn end_session(&self, id: &str) -> PortResult<bool> {
        let id = id.to_owned();
        self.db
            .write(move |conn| {
                conn.prepare_cached("DELETE FROM sessions WHERE id = ?1")
                    .and_then(|mut s| s.execute([id]))
                    .map(|n| n > 0)
                    .map_err(sql)
            })
            .await
    }

    async fn end_sessions_of(&self, agent: AgentId) -> PortResult<u32> {
        self.db
            .write(move |conn| {
                conn.prepare_cached("DELETE FROM sessions WHERE agent_id = ?1")
                    .and_then(|mut s| s.execute([agent.to_string()]))
                    .map(|n| n as u32)
                    .map_err(sql)
            })
            .await
    }
}
