//! Agents' passwords (an item beside each agent) and browser sessions (items DynamoDB's
//! TTL removes once expired; an expired one still present counts as absent).

use super::{DynamoStore, Item, errors, held, items, keys, n, s};
use crate::model::AgentId;
use crate::ports::{Credentials, PortError, PortResult, Session, SessionStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};

fn credentials(item: Option<Item>) -> PortResult<Credentials> {
    let Some(item) = item else {
        return Ok(Credentials::default());
    };
    let time = |name: &str| match items::number(&item, name) {
        Some(ms) => millis(ms as i64).map(Some),
        None => Ok(None),
    };
    Ok(Credentials {
        password_hash: items::string(&item, "password_hash"),
        failures: items::number(&item, "failures").unwrap_or(0) as u32,
        locked_until: time("locked_until_ms")?,
        sessions_valid_after: time("valid_after_ms")?,
    })
}

fn millis(ms: i64) -> PortResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| PortError::Internal(format!("a time out of range: {ms}")))
}

fn session_item(session: &Session) -> Item {
    let mut item = Item::from([
        ("pk".to_owned(), s(keys::session(&session.id))),
        ("sk".to_owned(), s(keys::META)),
        ("gsi1pk".to_owned(), s(keys::SESSIONS)),
        (
            "gsi1sk".to_owned(),
            s(keys::by_time(session.created_at, &session.id)),
        ),
        ("id".to_owned(), s(&session.id)),
        ("agent_id".to_owned(), s(session.agent_id.to_string())),
        ("secret_hash".to_owned(), s(&session.secret_hash)),
        ("csrf_token".to_owned(), s(&session.csrf_token)),
        (
            "created_ms".to_owned(),
            n(session.created_at.timestamp_millis()),
        ),
        (
            "expires_ms".to_owned(),
            n(session.expires_at.timestamp_millis()),
        ),
        // The table's TTL attribute, in seconds.
        ("expires_at".to_owned(), n(session.expires_at.timestamp())),
    ]);
    if let Some(agent) = &session.user_agent {
        item.insert("user_agent".to_owned(), s(agent));
    }
    item
}

fn session_of(item: &Item) -> PortResult<Session> {
    let time = |name: &str| {
        items::number(item, name)
            .ok_or_else(|| PortError::Internal(format!("a session without `{name}`")))
            .and_then(|ms| millis(ms as i64))
    };
    let text = |name: &str| {
        items::string(item, name)
            .ok_or_else(|| PortError::Internal(format!("a session without `{name}`")))
    };
    Ok(Session {
        id: text("id")?,
        agent_id: items::parsed(item, "agent_id")?,
        secret_hash: text("secret_hash")?,
        csrf_token: text("csrf_token")?,
        created_at: time("created_ms")?,
        expires_at: time("expires_ms")?,
        user_agent: items::string(item, "user_agent"),
    })
}

impl DynamoStore {
    /// The sessions not yet expired, newest first.
    async fn live_sessions(&self) -> PortResult<Vec<Session>> {
        let now = Utc::now();
        let mut sessions = self
            .index_partition("gsi1", keys::SESSIONS)
            .await?
            .iter()
            .map(session_of)
            .collect::<PortResult<Vec<_>>>()?;
        sessions.retain(|session| session.expires_at > now);
        sessions.reverse();
        Ok(sessions)
    }

    async fn delete_session(&self, id: &str) -> PortResult<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(keys::session(id)))
            .key("sk", s(keys::META))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:DeleteItem", e))?;
        Ok(out.attributes.is_some())
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn credentials(&self, agent: AgentId) -> PortResult<Credentials> {
        credentials(self.get(&keys::agent(agent), keys::PASSWORD).await?)
    }

    async fn set_password(
        &self,
        agent: AgentId,
        hash: Option<&str>,
        at: DateTime<Utc>,
    ) -> PortResult<()> {
        let mut item = Item::from([
            ("pk".to_owned(), s(keys::agent(agent))),
            ("sk".to_owned(), s(keys::PASSWORD)),
            ("failures".to_owned(), n(0)),
            ("valid_after_ms".to_owned(), n(at.timestamp_millis())),
        ]);
        if let Some(hash) = hash {
            item.insert("password_hash".to_owned(), s(hash));
        }
        self.put(item, None).await
    }

    async fn count_failure(
        &self,
        agent: AgentId,
        lock_after: u32,
        lock_until: DateTime<Utc>,
    ) -> PortResult<Credentials> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::agent(agent)))
            .key("sk", s(keys::PASSWORD))
            .update_expression("ADD failures :one")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:UpdateItem", e))?;
        let counted = credentials(out.attributes)?;
        if counted.failures < lock_after {
            return Ok(counted);
        }
        // The try that reaches the limit locks; a concurrent one that also counted past
        // it finds the count already started again and locks nothing twice.
        let lock = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::agent(agent)))
            .key("sk", s(keys::PASSWORD))
            .update_expression("SET failures = :zero, locked_until_ms = :until")
            .condition_expression("failures >= :limit")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":limit", n(lock_after))
            .expression_attribute_values(":until", n(lock_until.timestamp_millis()));
        held(lock).await?;
        self.credentials(agent).await
    }

    async fn clear_failures(&self, agent: AgentId) -> PortResult<()> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::agent(agent)))
            .key("sk", s(keys::PASSWORD))
            .update_expression("SET failures = :zero")
            .condition_expression("failures > :zero")
            .expression_attribute_values(":zero", n(0));
        held(update).await.map(|_| ())
    }

    async fn create_session(&self, session: &Session) -> PortResult<()> {
        self.put(session_item(session), Some("attribute_not_exists(pk)"))
            .await
    }

    async fn session(&self, id: &str) -> PortResult<Option<Session>> {
        let Some(item) = self.get(&keys::session(id), keys::META).await? else {
            return Ok(None);
        };
        let session = session_of(&item)?;
        Ok((session.expires_at > Utc::now()).then_some(session))
    }

    async fn sessions(&self) -> PortResult<Vec<Session>> {
        self.live_sessions().await
    }

    async fn end_session(&self, id: &str) -> PortResult<bool> {
        self.delete_session(id).await
    }

    async fn end_sessions_of(&self, agent: AgentId) -> PortResult<u32> {
        let mut ended = 0;
        for session in self.live_sessions().await? {
            if session.agent_id == agent && self.delete_session(&session.id).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }
}
