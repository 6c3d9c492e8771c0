use super::Embedded;
use super::cursor;
use super::db::sql;
use super::rows::{self, millis, to_json};
use crate::model::{Agent, AgentId, Assignment, Team, TeamId};
use crate::ports::{AgentStore, Page, PageRequest, PortError, PortResult, TeamStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl AgentStore for Embedded {
    async fn create_agent(&self, agent: &Agent, key_hash: &str) -> PortResult<()> {
        let (agent, key_hash) = (agent.clone(), key_hash.to_owned());
        self.db
            .write(move |conn| {
                conn.prepare_cached(&format!(
                    "INSERT INTO agents ({}, key_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                    rows::AGENT_COLUMNS
                ))
                .and_then(|mut s| {
                    s.execute(params![
                        agent.id.to_string(),
                        agent.name,
                        agent.email.as_str(),
                        agent.role.as_str(),
                        agent.availability.as_str(),
                        agent.max_open_conversations,
                        to_json(&agent.team_ids),
                        millis(agent.created_at),
                        agent.phone_extension,
                        to_json(&agent.skills),
                        to_json(&agent.languages),
                        agent.last_seen_at.map(millis),
                        agent.idle_away,
                        key_hash,
                    ])
                })
                .map_err(|e| match sql(e) {
                    PortError::Conflict(_) => {
                        PortError::Conflict(format!("an agent with email {} exists", agent.email))
                    }
                    other => other,
                })?;
                Ok(())
            })
            .await
    }

    async fn agent_by_key_hash(&self, key_hash: &str) -> PortResult<Option<Agent>> {
        let key_hash = key_hash.to_owned();
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {} FROM agents WHERE key_hash = ?1",
                    rows::AGENT_COLUMNS
                ))
                .and_then(|mut s| s.query_row([key_hash], rows::agent).optional())
                .map_err(sql)
            })
            .await
    }

    async fn replace_agent_key(&self, id: AgentId, key_hash: &str) -> PortResult<()> {
        let key_hash = key_hash.to_owned();
        self.db
            .write(move |conn| {
                let changed = conn
                    .prepare_cached("UPDATE agents SET key_hash = ?2 WHERE id = ?1")
                    .and_then(|mut s| s.execute(params![id.to_string(), key_hash]))
                    .map_err(sql)?;
                if changed == 0 {
                    return Err(PortError::NotFound);
                }
                Ok(())
            })
            .await
    }

    async fn mark_seen(&self, id: AgentId, at: DateTime<Utc>, back: bool) -> PortResult<()> {
        self.db
            .write(move |conn| {
                let statement = if back {
                    "UPDATE agents SET last_seen_at = ?2, availability = 'available', idle_away = 0
                     WHERE id = ?1 AND idle_away = 1"
                } else {
                    "UPDATE agents SET last_seen_at = ?2 WHERE id = ?1"
                };
                conn.prepare_cached(statement)
                    .and_then(|mut s| s.execute(params![id.to_string(), millis(at)]))
                    .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn set_idle_away(&self, id: AgentId, seen: Option<DateTime<Utc>>) -> PortResult<bool> {
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE agents SET availability = 'away', idle_away = 1
                     WHERE id = ?1 AND availability = 'available' AND last_seen_at IS ?2",
                )
                .and_then(|mut s| s.execute(params![id.to_string(), seen.map(millis)]))
                .map(|n| n > 0)
                .map_err(sql)
            })
            .await
    }

    async fn agent(&self, id: AgentId) -> PortResult<Option<Agent>> {
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {} FROM agents WHERE id = ?1",
                    rows::AGENT_COLUMNS
                ))
                .and_then(|mut s| s.query_row([id.to_string()], rows::agent).optional())
                .map_err(sql)
            })
            .await
    }

    async fn list_agents(&self, page: &PageRequest) -> PortResult<Page<Agent>> {
        let after = page
            .cursor
            .as_deref()
            .map(cursor::decode)
            .transpose()?
            .map(|(_, id)| id)
            .unwrap_or_default();
        let limit = page.limit as usize;
        self.db
            .read(move |conn| {
                let mut items: Vec<Agent> = conn
                    .prepare_cached(&format!(
                        "SELECT {} FROM agents WHERE id > ?1 ORDER BY id LIMIT ?2",
                        rows::AGENT_COLUMNS
                    ))
                    .and_then(|mut s| {
                        s.query_map(params![after, (limit + 1) as i64], rows::agent)?
                            .collect()
                    })
                    .map_err(sql)?;
                let next_cursor = (items.len() > limit)
                    .then(|| cursor::encode(0, &items[limit - 1].id.to_string()));
                items.truncate(limit);
                Ok(Page { items, next_cursor })
            })
            .await
    }

    async fn save_agent(&self, agent: &Agent) -> PortResult<()> {
        let agent = agent.clone();
        self.db
            .write(move |conn| {
                let changed = conn
                    .prepare_cached(
                        "UPDATE agents SET name = ?2, role = ?3, availability = ?4, max_open = ?5, team_ids = ?6, phone_extension = ?7, skills = ?8, languages = ?9, idle_away = ?10 WHERE id = ?1",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            agent.id.to_string(),
                            agent.name,
                            agent.role.as_str(),
                            agent.availability.as_str(),
                            agent.max_open_conversations,
                            to_json(&agent.team_ids),
                            agent.phone_extension,
                            to_json(&agent.skills),
                            to_json(&agent.languages),
                            agent.idle_away,
                        ])
                    })
                    .map_err(sql)?;
                if changed == 0 { Err(PortError::NotFound) } else { Ok(()) }
            })
            .await
    }
}

#[async_trait]
impl TeamStore for Embedded {
    async fn create_team(&self, team: &Team) -> PortResult<()> {
        let team = team.clone();
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO teams (id, name, created_at, assignment, bot_answers_first)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        team.id.to_string(),
                        team.name,
                        millis(team.created_at),
                        team.assignment.as_str(),
                        team.bot_answers_first
                    ])
                })
                .map_err(|e| match sql(e) {
                    PortError::Conflict(_) => {
                        PortError::Conflict(format!("a team named {} exists", team.name))
                    }
                    other => other,
                })?;
                Ok(())
            })
            .await
    }

    async fn team(&self, id: TeamId) -> PortResult<Option<Team>> {
        self.db
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {} FROM teams WHERE id = ?1",
                    rows::TEAM_COLUMNS
                ))
                .and_then(|mut s| s.query_row([id.to_string()], rows::team).optional())
                .map_err(sql)
            })
            .await
    }

    async fn set_team_assignment(&self, id: TeamId, assignment: Assignment) -> PortResult<bool> {
        self.db
            .write(move |conn| {
                conn.prepare_cached("UPDATE teams SET assignment = ?2 WHERE id = ?1")
                    .and_then(|mut s| s.execute(params![id.to_string(), assignment.as_str()]))
                    .map(|changed| changed == 1)
                    .map_err(sql)
            })
            .await
    }

    async fn set_team_bot(&self, id: TeamId, answers_first: bool) -> PortResult<bool> {
        self.db
            .write(move |conn| {
                conn.prepare_cached("UPDATE teams SET bot_answers_first = ?2 WHERE id = ?1")
                    .and_then(|mut s| s.execute(params![id.to_string(), answers_first]))
                    .map(|changed| changed == 1)
                    .map_err(sql)
            })
            .await
    }

    async fn list_teams(&self) -> PortResult<Vec<Team>> {
        self.db
            .read(|conn| {
                conn.prepare_cached(&format!(
                    "SELECT {} FROM teams ORDER BY name",
                    rows::TEAM_COLUMNS
                ))
                .and_then(|mut s| s.query_map([], rows::team)?.collect())
                .map_err(sql)
            })
            .await
    }
}
