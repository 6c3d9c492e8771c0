//! Agents (with their API-key and email items) and teams (with their name items).

use super::list::{decode_cursor, encode_cursor};
use super::routing::{put, put_with};
use super::{DynamoStore, errors, held, items, keys, s};
use crate::model::{Agent, AgentId, Assignment, Team, TeamId};
use crate::ports::{AgentStore, Page, PageRequest, PortError, PortResult, TeamStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

const NEW: Option<&str> = Some("attribute_not_exists(pk)");

#[async_trait]
impl AgentStore for DynamoStore {
    async fn create_agent(&self, agent: &Agent, key_hash: &str) -> PortResult<()> {
        let writes = vec![
            put(self, items::agent(agent)?, NEW)?,
            put(
                self,
                items::pointer(
                    keys::agent_email(agent.email.as_str()),
                    agent.id.to_string(),
                ),
                NEW,
            )?,
            put(
                self,
                items::pointer(keys::api_key(key_hash), agent.id.to_string()),
                NEW,
            )?,
            put(self, items::current_key(agent.id, key_hash), NEW)?,
        ];
        self.transact(writes).await.map_err(|e| match e {
            PortError::Conflict(_) => {
                PortError::Conflict(format!("an agent with email {} exists", agent.email))
            }
            other => other,
        })
    }

    async fn agent_by_key_hash(&self, key_hash: &str) -> PortResult<Option<Agent>> {
        let Some(pointer) = self.get(&keys::api_key(key_hash), keys::META).await? else {
            return Ok(None);
        };
        let id: AgentId = items::parsed(&pointer, "target")?;
        let agent_pk = keys::agent(id);
        let (agent, current) =
            tokio::try_join!(self.agent(id), self.get(&agent_pk, keys::CURRENT_KEY))?;
        // A key replaced since is no key: its pointer may outlive it (agents made
        // before their current key was recorded have no record of the one to remove).
        if let Some(current) = current
            && current.get("target").and_then(|v| v.as_s().ok()) != Some(&key_hash.to_owned())
        {
            return Ok(None);
        }
        Ok(agent)
    }

    async fn mark_seen(&self, id: AgentId, at: DateTime<Utc>, back: bool) -> PortResult<()> {
        let (expression, condition) = if back {
            (
                "SET last_seen_at = :at, availability = :available, idle_away = :no",
                "attribute_exists(pk) AND idle_away = :yes",
            )
        } else {
            ("SET last_seen_at = :at", "attribute_exists(pk)")
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::agent(id)))
            .key("sk", s(keys::META))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_values(":at", items::to_value(&at)?);
        if back {
            update = update
                .expression_attribute_values(
                    ":available",
                    items::to_value(&crate::model::Availability::Available)?,
                )
                .expression_attribute_values(":no", items::to_value(&false)?)
                .expression_attribute_values(":yes", items::to_value(&true)?);
        }
        // False: gone, or they changed their availability themselves; nothing to note.
        held(update).await.map(|_| ())
    }

    async fn set_idle_away(&self, id: AgentId, seen: Option<DateTime<Utc>>) -> PortResult<bool> {
        let seen_as_read = match seen {
            Some(_) => "last_seen_at = :seen",
            None => "(attribute_not_exists(last_seen_at) OR attribute_type(last_seen_at, :null))",
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::agent(id)))
            .key("sk", s(keys::META))
            .update_expression("SET availability = :away, idle_away = :yes")
            .condition_expression(format!(
                "attribute_exists(pk) AND availability = :available AND {seen_as_read}"
            ))
            .expression_attribute_values(
                ":available",
                items::to_value(&crate::model::Availability::Available)?,
            )
            .expression_attribute_values(
                ":away",
                items::to_value(&crate::model::Availability::Away)?,
            )
            .expression_attribute_values(":yes", items::to_value(&true)?);
        update = match seen {
            Some(at) => update.expression_attribute_values(":seen", items::to_value(&at)?),
            None => update.expression_attribute_values(":null", s("NULL")),
        };
        held(update).await
    }

    async fn replace_agent_key(&self, id: AgentId, key_hash: &str) -> PortResult<()> {
        if self.agent(id).await?.is_none() {
            return Err(PortError::NotFound);
        }
        let before = self.get(&keys::agent(id), keys::CURRENT_KEY).await?;
        let before = before
            .as_ref()
            .and_then(|item| item.get("target"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        let mut writes = vec![
            put(
                self,
                items::pointer(keys::api_key(key_hash), id.to_string()),
                NEW,
            )?,
            match &before {
                Some(old) => put_with(
                    self,
                    items::current_key(id, key_hash),
                    "target = :old",
                    &[(":old", s(old.clone()))],
                )?,
                None => put(self, items::current_key(id, key_hash), NEW)?,
            },
        ];
        if let Some(old) = before {
            writes.push(self.delete(&keys::api_key(&old), keys::META)?);
        }
        self.transact(writes).await
    }

    async fn agent(&self, id: AgentId) -> PortResult<Option<Agent>> {
        self.get(&keys::agent(id), keys::META)
            .await?
            .map(items::from_item)
            .transpose()
    }

    async fn list_agents(&self, page: &PageRequest) -> PortResult<Page<Agent>> {
        let limit = page.limit as usize;
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .expression_attribute_values(":pk", s(keys::AGENTS))
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        request = match page.cursor.as_deref().map(decode_cursor).transpose()? {
            Some(after) => request
                .key_condition_expression("gsi1pk = :pk AND gsi1sk > :after")
                .expression_attribute_values(":after", s(after)),
            None => request.key_condition_expression("gsi1pk = :pk"),
        };
        let out = request
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:Query", e))?;
        let mut agents = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(items::from_item)
            .collect::<PortResult<Vec<Agent>>>()?;
        let next_cursor =
            (agents.len() > limit).then(|| encode_cursor(&agents[limit - 1].id.to_string()));
        agents.truncate(limit);
        Ok(Page {
            items: agents,
            next_cursor,
        })
    }

    async fn save_agent(&self, agent: &Agent) -> PortResult<()> {
        match self
            .put(items::agent(agent)?, Some("attribute_exists(pk)"))
            .await
        {
            Err(PortError::Conflict(_)) => Err(PortError::NotFound),
            other => other,
        }
    }
}

#[async_trait]
impl TeamStore for DynamoStore {
    async fn create_team(&self, team: &Team) -> PortResult<()> {
        let writes = vec![
            put(self, items::team(team)?, NEW)?,
            put(
                self,
                items::pointer(keys::team_name(&team.name), team.id.to_string()),
                NEW,
            )?,
        ];
        self.transact(writes).await.map_err(|e| match e {
            PortError::Conflict(_) => {
                PortError::Conflict(format!("a team named {} exists", team.name))
            }
            other => other,
        })
    }

    async fn team(&self, id: TeamId) -> PortResult<Option<Team>> {
        self.get(&keys::team(id), keys::META)
            .await?
            .map(items::from_item)
            .transpose()
    }

    async fn set_team_assignment(&self, id: TeamId, assignment: Assignment) -> PortResult<bool> {
        self.set_team_field(id, "assignment", items::to_value(&assignment)?)
            .await
    }

    async fn set_team_bot(&self, id: TeamId, answers_first: bool) -> PortResult<bool> {
        self.set_team_field(id, "bot_answers_first", AttributeValue::Bool(answers_first))
            .await
    }

    async fn list_teams(&self) -> PortResult<Vec<Team>> {
        self.index_partition("gsi1", keys::TEAMS)
            .await?
            .into_iter()
            .map(items::from_item)
            .collect()
    }
}

impl DynamoStore {
    /// Sets one attribute of an existing team; false when there is no such team.
    async fn set_team_field(
        &self,
        id: TeamId,
        name: &str,
        value: AttributeValue,
    ) -> PortResult<bool> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::team(id)))
            .key("sk", s(keys::META))
            .update_expression("SET #field = :value")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#field", name)
            .expression_attribute_values(":value", value);
        held(update).await
    }
}
