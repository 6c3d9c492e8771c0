//! Service levels: calendars (`pk=CALENDARS`, `sk=<id>`) and policies
//! (`pk=SLAPOLICIES`, `sk=<id>`), each one partition read whole; a conversation's clocks
//! beside it (`pk=CV#<id>`, `sk=#SLA`, as JSON in `body`, version `v`), in gsi1
//! `SLADUE` / `<due ms>#<id>` while a target is owed and in gsi2 `SLAWAKE` /
//! `<wake ms>#<id>` while a breach waits to be told. Routing rules (`pk=RULES`), canned
//! replies (`pk=CANNED`) and macros (`pk=MACROS`), `sk=<id>`, are kept the same way as
//! calendars, and so are each agent's notification settings (`pk=NOTICES`,
//! `sk=<agent id>`).

use super::{DynamoStore, Item, errors, items, keys, n, s};
use crate::model::{
    AgentId, AgentNotifications, Calendar, CalendarId, CannedReply, CannedReplyId, ConversationId,
    ConversationSla, Macro, MacroId, Rule, RuleId, SlaPolicy, SlaPolicyId, TimerPlace,
};
use crate::ports::{
    CannedStore, DuePosition, NoticeStore, PortError, PortResult, RuleStore, SlaStore,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub(super) fn json_item<T: serde::Serialize>(pk: &str, sk: &str, value: &T) -> PortResult<Item> {
    let body = serde_json::to_string(value)
        .map_err(|e| PortError::Internal(format!("encoding an item: {e}")))?;
    Ok(Item::from([
        ("pk".to_owned(), s(pk)),
        ("sk".to_owned(), s(sk)),
        ("body".to_owned(), s(body)),
    ]))
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(item: &Item) -> PortResult<T> {
    let body = items::string(item, "body")
        .ok_or_else(|| PortError::Internal("an item without its body".into()))?;
    serde_json::from_str(&body)
        .map_err(|e| PortError::Internal(format!("an unreadable item in the table: {e}")))
}

impl DynamoStore {
    /// Every document of a partition kept whole (calendars, rules, …), by id.
    async fn documents<T: serde::de::DeserializeOwned>(&self, pk: &str) -> PortResult<Vec<T>> {
        self.partition(pk).await?.iter().map(from_json).collect()
    }

    /// Creates or replaces the document `id` of the partition `pk`.
    async fn put_document<T: serde::Serialize>(
        &self,
        pk: &str,
        id: &str,
        value: &T,
    ) -> PortResult<()> {
        self.put(json_item(pk, id, value)?, None).await
    }

    pub(super) async fn delete_item(&self, pk: &str, sk: &str) -> PortResult<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:DeleteItem", e))?;
        Ok(out.attributes.is_some())
    }

    /// Records of an index partition in key order, at most `limit`: those after `range`'s
    /// key, or those up to and with it.
    async fn sla_range(
        &self,
        index: &str,
        pk: &str,
        range: Range,
        limit: u32,
    ) -> PortResult<Vec<ConversationSla>> {
        let (condition, bound) = match range {
            Range::All => ("#pk = :pk", None),
            Range::After(key) => ("#pk = :pk AND #sk > :bound", Some(key)),
            Range::UpTo(key) => ("#pk = :pk AND #sk <= :bound", Some(key)),
        };
        let mut names = std::collections::HashMap::from([("#pk".to_owned(), format!("{index}pk"))]);
        let mut values = std::collections::HashMap::from([(":pk".to_owned(), s(pk))]);
        if let Some(bound) = bound {
            names.insert("#sk".to_owned(), format!("{index}sk"));
            values.insert(":bound".to_owned(), s(bound));
        }
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(condition)
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start)
                .limit(i32::try_from(limit).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(|e| errors::sdk("dynamodb:Query", e))?;
            for item in out.items.unwrap_or_default() {
                found.push(from_json(&item)?);
                if found.len() == limit as usize {
                    return Ok(found);
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }
}

enum Range {
    All,
    After(String),
    UpTo(String),
}

/// A key after every `<ms>#<id>` of instants up to `at`.
fn up_to(at: DateTime<Utc>) -> String {
    format!("{:013}#~", at.timestamp_millis().max(0))
}

#[async_trait]
impl SlaStore for DynamoStore {
    async fn calendars(&self) -> PortResult<Vec<Calendar>> {
        self.documents(keys::CALENDARS).await
    }

    async fn save_calendar(&self, calendar: &Calendar) -> PortResult<()> {
        self.put_document(keys::CALENDARS, &calendar.id.to_string(), calendar)
            .await
    }

    async fn delete_calendar(&self, id: CalendarId) -> PortResult<bool> {
        self.delete_item(keys::CALENDARS, &id.to_string()).await
    }

    async fn sla_policies(&self) -> PortResult<Vec<SlaPolicy>> {
        self.documents(keys::SLA_POLICIES).await
    }

    async fn save_sla_policy(&self, policy: &SlaPolicy) -> PortResult<()> {
        self.put_document(keys::SLA_POLICIES, &policy.id.to_string(), policy)
            .await
    }

    async fn delete_sla_policy(&self, id: SlaPolicyId) -> PortResult<bool> {
        self.delete_item(keys::SLA_POLICIES, &id.to_string()).await
    }

    async fn conversation_sla(&self, id: ConversationId) -> PortResult<Option<ConversationSla>> {
        self.get(&keys::conversation(id), keys::SLA)
            .await?
            .map(|item| from_json(&item))
            .transpose()
    }

    async fn save_conversation_sla(&self, sla: &ConversationSla) -> PortResult<ConversationSla> {
        let saved = ConversationSla {
            version: sla.version + 1,
            ..sla.clone()
        };
        let id = sla.conversation_id;
        let mut item = json_item(&keys::conversation(id), keys::SLA, &saved)?;
        item.insert("v".into(), n(saved.version));
        if let Some(due) = saved.due_at {
            item.insert("gsi1pk".into(), s(keys::SLA_DUE));
            item.insert("gsi1sk".into(), s(keys::by_time(due, &id)));
        }
        if let Some(wake) = saved.wake_at {
            item.insert("gsi2pk".into(), s(keys::SLA_WAKE));
            item.insert("gsi2sk".into(), s(keys::by_time(wake, &id)));
        }
        let condition = if sla.version == 0 {
            "attribute_not_exists(pk)"
        } else {
            "v = :read"
        };
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if sla.version != 0 {
            put = put.expression_attribute_values(":read", n(sla.version));
        }
        put.send()
            .await
            .map_err(|e| errors::sdk("dynamodb:PutItem", e))?;
        Ok(saved)
    }

    async fn slas_by_due(
        &self,
        after: Option<DuePosition>,
        limit: u32,
    ) -> PortResult<Vec<ConversationSla>> {
        let range = match after {
            Some((at, id)) => Range::After(keys::by_time(at, &id)),
            None => Range::All,
        };
        self.sla_range("gsi1", keys::SLA_DUE, range, limit).await
    }

    async fn slas_to_wake(
        &self,
        until: DateTime<Utc>,
        limit: u32,
    ) -> PortResult<Vec<ConversationSla>> {
        self.sla_range("gsi2", keys::SLA_WAKE, Range::UpTo(up_to(until)), limit)
            .await
    }
}

#[async_trait]
impl RuleStore for DynamoStore {
    async fn rules(&self) -> PortResult<Vec<Rule>> {
        self.documents(keys::RULES).await
    }

    async fn save_rule(&self, rule: &Rule) -> PortResult<()> {
        self.put_document(keys::RULES, &rule.id.to_string(), rule)
            .await
    }

    async fn delete_rule(&self, id: RuleId) -> PortResult<bool> {
        self.delete_item(keys::RULES, &id.to_string()).await
    }

    async fn timer_place(&self, name: &str) -> PortResult<Option<TimerPlace>> {
        self.get(keys::TIMERS, name)
            .await?
            .map(|item| from_json(&item))
            .transpose()
    }

    async fn save_timer_place(&self, name: &str, place: &TimerPlace) -> PortResult<()> {
        self.put_document(keys::TIMERS, name, place).await
    }
}

#[async_trait]
impl CannedStore for DynamoStore {
    async fn canned_replies(&self) -> PortResult<Vec<CannedReply>> {
        self.documents(keys::CANNED).await
    }

    async fn save_canned_reply(&self, reply: &CannedReply) -> PortResult<()> {
        self.put_document(keys::CANNED, &reply.id.to_string(), reply)
            .await
    }

    async fn delete_canned_reply(&self, id: CannedReplyId) -> PortResult<bool> {
        self.delete_item(keys::CANNED, &id.to_string()).await
    }

    async fn macros(&self) -> PortResult<Vec<Macro>> {
        self.documents(keys::MACROS).await
    }

    async fn save_macro(&self, m: &Macro) -> PortResult<()> {
        self.put_document(keys::MACROS, &m.id.to_string(), m).await
    }

    async fn delete_macro(&self, id: MacroId) -> PortResult<bool> {
        self.delete_item(keys::MACROS, &id.to_string()).await
    }
}

#[async_trait]
impl NoticeStore for DynamoStore {
    async fn agent_notifications(&self, id: AgentId) -> PortResult<Option<AgentNotifications>> {
        self.get(keys::NOTICES, &id.to_string())
            .await?
            .map(|item| from_json(&item))
            .transpose()
    }

    async fn save_agent_notifications(&self, settings: &AgentNotifications) -> PortResult<()> {
        self.put_document(keys::NOTICES, &settings.agent_id.to_string(), settings)
            .await
    }
}
