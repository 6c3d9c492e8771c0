//! Incidents: each one in the `INCIDENTS` partition (`sk=<id>`, JSON `body`, version `v`,
//! and a live count of its links per channel, `n_<channel>`, moved in the transaction
//! that links or unlinks); its links (`pk=INC#<id>`, `sk=CV#<conversation>`); its
//! updates (`pk=INC#<id>`, `sk=UPD#<update>`, JSON `body` and the counts `queued`,
//! `sent`, `failed`); and each update's reply per conversation (`pk=IU#<update>`,
//! `sk=CV#<conversation>`, the message and its `outcome`), written in the transaction
//! that stores the reply, so an update reaches each conversation once. The burst watch
//! is one JSON document (`pk=INCWATCH`).

use super::routing::{build_error, put, put_with};
use super::sla::{from_json, json_item};
use super::{DynamoStore, Item, errors, items, keys, n, s};
use crate::model::{
    BurstWatch, Channel, Conversation, ConversationId, Event, Incident, IncidentId, IncidentLink,
    IncidentState, IncidentUpdate, IncidentUpdateId, Message, MessageId, TimelineItem,
    UpdateProgress,
};
use crate::ports::{IncidentStore, Page, PageRequest, PortError, PortResult};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use keys::INCIDENTS;
/// The burst watch, one JSON document.
const WATCH: &str = "INCWATCH";
const LINK: &str = "CV#";
const UPDATE: &str = "UPD#";

fn incident_key(id: IncidentId) -> String {
    format!("INC#{id}")
}

fn update_key(id: IncidentUpdateId) -> String {
    format!("{UPDATE}{id}")
}

fn reply_key(id: IncidentUpdateId) -> String {
    format!("IU#{id}")
}

fn link_sk(id: ConversationId) -> String {
    format!("{LINK}{id}")
}

fn count_name(channel: Channel) -> String {
    format!("n_{}", channel.as_str())
}

fn number(item: &Item, name: &str) -> u32 {
    items::number(item, name)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0)
}

fn incident_of(item: &Item) -> PortResult<Incident> {
    let incident: Incident = from_json(item)?;
    let linked: BTreeMap<Channel, u32> = [
        Channel::Web,
        Channel::Email,
        Channel::Telegram,
        Channel::Sms,
        Channel::Voice,
    ]
    .into_iter()
    .map(|c| (c, number(item, &count_name(c))))
    .filter(|(_, count)| *count > 0)
    .collect();
    Ok(Incident {
        linked,
        version: items::number(item, "v").unwrap_or(incident.version),
        ..incident
    })
}

fn incident_item(incident: &Incident) -> PortResult<Item> {
    let mut item = json_item(
        INCIDENTS,
        &incident.id.to_string(),
        &Incident {
            linked: BTreeMap::new(),
            ..incident.clone()
        },
    )?;
    item.insert("v".into(), n(incident.version));
    item.insert("state".into(), s(incident.state.as_str()));
    Ok(item)
}

fn link_of(item: &Item) -> PortResult<IncidentLink> {
    let channel = items::string(item, "channel")
        .and_then(|c| Channel::parse(&c))
        .ok_or_else(|| PortError::Internal("a link without its channel".into()))?;
    let linked_at = items::number(item, "linked_at")
        .and_then(|ms| i64::try_from(ms).ok())
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .ok_or_else(|| PortError::Internal("a link without its time".into()))?;
    Ok(IncidentLink {
        incident_id: items::parsed(item, "incident_id")?,
        conversation_id: items::parsed(item, "conversation_id")?,
        channel,
        linked_at,
        linked_by: items::string(item, "linked_by")
            .map(|a| {
                a.parse()
                    .map_err(|_| PortError::Internal(format!("an unreadable agent id: {a}")))
            })
            .transpose()?,
        acknowledged: items::flag(item, "ack"),
    })
}

fn update_of(item: &Item) -> PortResult<IncidentUpdate> {
    let update: IncidentUpdate = from_json(item)?;
    Ok(IncidentUpdate {
        progress: UpdateProgress {
            queued: number(item, "queued"),
            sent: number(item, "sent"),
            failed: number(item, "failed"),
            fanned_out: items::flag(item, "done"),
        },
        ..update
    })
}

impl DynamoStore {
    fn event_write(&self, event: &Event) -> PortResult<TransactWriteItem> {
        put(
            self,
            items::timeline(event.conversation_id, &TimelineItem::Event(event.clone()))?,
            None,
        )
    }

    /// The conversation saved as given over the version it was read at.
    fn conversation_write(&self, next: &Conversation, read: u64) -> PortResult<TransactWriteItem> {
        put_with(
            self,
            items::conversation(next)?,
            "version = :expected",
            &[(":expected", n(read))],
        )
    }

    /// Adds `by` to a count of an item that must exist.
    fn count_write(
        &self,
        pk: &str,
        sk: &str,
        name: &str,
        by: i64,
    ) -> PortResult<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression("ADD #count :by")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#count", name)
            .expression_attribute_values(":by", n(by))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The writes that take a conversation that goes (erased, folded) out of its
    /// incident: its link, and the count it made.
    pub(super) async fn leave_incident(
        &self,
        conversation: &Conversation,
    ) -> PortResult<Vec<TransactWriteItem>> {
        let Some(incident) = conversation.incident_id else {
            return Ok(Vec::new());
        };
        let Some(link) = self.incident_link(incident, conversation.id).await? else {
            return Ok(Vec::new());
        };
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(incident_key(incident)))
            .key("sk", s(link_sk(conversation.id)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(build_error)?;
        Ok(vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.count_write(
                INCIDENTS,
                &incident.to_string(),
                &count_name(link.channel),
                -1,
            )?,
        ])
    }

    /// A conversation save that failed its condition: `NotFound` when it is gone.
    async fn conversation_conflict(&self, id: ConversationId, reason: String) -> PortError {
        match self.get(&keys::conversation(id), keys::META).await {
            Ok(None) => PortError::NotFound,
            Ok(Some(_)) => PortError::Conflict(reason),
            Err(e) => e,
        }
    }
}

#[async_trait]
impl IncidentStore for DynamoStore {
    async fn create_incident(&self, incident: &Incident) -> PortResult<()> {
        let stored = Incident {
            version: 1,
            ..incident.clone()
        };
        match self
            .put(incident_item(&stored)?, Some("attribute_not_exists(pk)"))
            .await
        {
            Err(PortError::Conflict(_)) => Err(PortError::Conflict(format!(
                "incident {} exists",
                incident.id
            ))),
            other => other,
        }
    }

    async fn incident(&self, id: IncidentId) -> PortResult<Option<Incident>> {
        self.get(INCIDENTS, &id.to_string())
            .await?
            .map(|item| incident_of(&item))
            .transpose()
    }

    async fn list_incidents(
        &self,
        state: Option<IncidentState>,
        page: &PageRequest,
    ) -> PortResult<Page<Incident>> {
        // An installation declares a few incidents a month: the partition is read whole.
        let mut all = self
            .partition(INCIDENTS)
            .await?
            .iter()
            .map(incident_of)
            .collect::<PortResult<Vec<_>>>()?;
        all.retain(|i| state.is_none_or(|s| i.state == s));
        all.sort_by_key(|i| std::cmp::Reverse(i.id));
        let before: Option<IncidentId> = page
            .cursor
            .as_deref()
            .map(|c| {
                c.parse().map_err(|_| {
                    PortError::Invalid("the cursor is not one this server issued".into())
                })
            })
            .transpose()?;
        let mut rest: Vec<Incident> = all
            .into_iter()
            .filter(|i| before.is_none_or(|b| i.id < b))
            .collect();
        let more = rest.len() > page.limit as usize;
        rest.truncate(page.limit as usize);
        let next_cursor = more
            .then(|| rest.last().map(|i| i.id.to_string()))
            .flatten();
        Ok(Page {
            items: rest,
            next_cursor,
        })
    }

    async fn save_incident(&self, incident: &Incident) -> PortResult<Incident> {
        let read = incident.version;
        let next = Incident {
            version: read + 1,
            ..incident.clone()
        };
        // The body, title and state change; the counts stay as the links moved them.
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(INCIDENTS))
            .key("sk", s(next.id.to_string()))
            .update_expression("SET body = :body, #state = :state, v = :next")
            .condition_expression("v = :read")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(
                ":body",
                s(serde_json::to_string(&Incident {
                    linked: BTreeMap::new(),
                    ..next.clone()
                })
                .map_err(|e| PortError::Internal(format!("encoding an item: {e}")))?),
            )
            .expression_attribute_values(":state", s(next.state.as_str()))
            .expression_attribute_values(":next", n(next.version))
            .expression_attribute_values(":read", n(read));
        match update.send().await {
            Ok(_) => Ok(next),
            Err(e) => Err(match errors::sdk("dynamodb:UpdateItem", e) {
                PortError::Conflict(_) => PortError::Conflict(format!(
                    "incident {} changed since version {read}",
                    next.id
                )),
                other => other,
            }),
        }
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
        let mut link_item = Item::from([
            ("pk".to_owned(), s(incident_key(link.incident_id))),
            ("sk".to_owned(), s(link_sk(link.conversation_id))),
            ("incident_id".to_owned(), s(link.incident_id.to_string())),
            (
                "conversation_id".to_owned(),
                s(link.conversation_id.to_string()),
            ),
            ("channel".to_owned(), s(link.channel.as_str())),
            ("linked_at".to_owned(), n(link.linked_at.timestamp_millis())),
            ("ack".to_owned(), AttributeValue::Bool(link.acknowledged)),
        ]);
        if let Some(by) = link.linked_by {
            link_item.insert("linked_by".into(), s(by.to_string()));
        }
        let writes = vec![
            self.conversation_write(&next, read)?,
            self.event_write(event)?,
            put(self, link_item, Some("attribute_not_exists(pk)"))?,
            // Counted on the incident only while it is active: nothing is linked to one
            // proposed or resolved.
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.table)
                        .key("pk", s(INCIDENTS))
                        .key("sk", s(link.incident_id.to_string()))
                        .update_expression("ADD #count :one")
                        .condition_expression("#state = :active")
                        .expression_attribute_names("#count", count_name(link.channel))
                        .expression_attribute_names("#state", "state")
                        .expression_attribute_values(":one", n(1))
                        .expression_attribute_values(":active", s(IncidentState::Active.as_str()))
                        .build()
                        .map_err(build_error)?,
                )
                .build(),
        ];
        match self.transact(writes).await {
            Ok(()) => Ok(next),
            Err(PortError::Conflict(reason)) => {
                Err(self.conversation_conflict(next.id, reason).await)
            }
            Err(e) => Err(e),
        }
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
        let mut writes = vec![
            self.conversation_write(&next, read)?,
            self.event_write(event)?,
        ];
        if let Some(link) = self.incident_link(incident, next.id).await? {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("pk", s(incident_key(incident)))
                .key("sk", s(link_sk(next.id)))
                .condition_expression("attribute_exists(pk)")
                .build()
                .map_err(build_error)?;
            writes.push(TransactWriteItem::builder().delete(delete).build());
            writes.push(self.count_write(
                INCIDENTS,
                &incident.to_string(),
                &count_name(link.channel),
                -1,
            )?);
        }
        match self.transact(writes).await {
            Ok(()) => Ok(next),
            Err(PortError::Conflict(reason)) => {
                Err(self.conversation_conflict(next.id, reason).await)
            }
            Err(e) => Err(e),
        }
    }

    async fn incident_link(
        &self,
        incident: IncidentId,
        conversation: ConversationId,
    ) -> PortResult<Option<IncidentLink>> {
        self.get(&incident_key(incident), &link_sk(conversation))
            .await?
            .map(|item| link_of(&item))
            .transpose()
    }

    async fn linked_conversations(
        &self,
        incident: IncidentId,
        after: Option<ConversationId>,
        limit: u32,
    ) -> PortResult<Vec<IncidentLink>> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :link)")
            .expression_attribute_values(":pk", s(incident_key(incident)))
            .expression_attribute_values(":link", s(LINK))
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        if let Some(after) = after {
            query = query
                .exclusive_start_key("pk", s(incident_key(incident)))
                .exclusive_start_key("sk", s(link_sk(after)));
        }
        let out = query
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:Query", e))?;
        out.items.unwrap_or_default().iter().map(link_of).collect()
    }

    async fn acknowledge(&self, incident: IncidentId, ack: &Message) -> PortResult<bool> {
        let told = Update::builder()
            .table_name(&self.table)
            .key("pk", s(incident_key(incident)))
            .key("sk", s(link_sk(ack.conversation_id)))
            .update_expression("SET ack = :yes")
            .condition_expression("attribute_exists(pk) AND ack = :no")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .build()
            .map_err(build_error)?;
        let mut writes = self.outbound_writes(ack).await?;
        writes.push(TransactWriteItem::builder().update(told).build());
        match self.transact(writes).await {
            Ok(()) => Ok(true),
            Err(PortError::Conflict(reason)) => {
                match self.incident_link(incident, ack.conversation_id).await? {
                    Some(link) if !link.acknowledged => Err(PortError::Unavailable(format!(
                        "the acknowledgement was not written, and may be: {reason}"
                    ))),
                    _ => Ok(false),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn add_update(&self, update: &IncidentUpdate) -> PortResult<()> {
        let mut item = json_item(
            &incident_key(update.incident_id),
            &update_key(update.id),
            update,
        )?;
        for count in ["queued", "sent", "failed"] {
            item.insert(count.into(), n(0));
        }
        item.insert("done".into(), AttributeValue::Bool(false));
        self.put(item, Some("attribute_not_exists(pk)")).await
    }

    async fn updates(&self, incident: IncidentId) -> PortResult<Vec<IncidentUpdate>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :update)")
            .expression_attribute_values(":pk", s(incident_key(incident)))
            .expression_attribute_values(":update", s(UPDATE))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:Query", e))?;
        out.items
            .unwrap_or_default()
            .iter()
            .map(update_of)
            .collect()
    }

    async fn update(
        &self,
        incident: IncidentId,
        update: IncidentUpdateId,
    ) -> PortResult<Option<IncidentUpdate>> {
        self.get(&incident_key(incident), &update_key(update))
            .await?
            .map(|item| update_of(&item))
            .transpose()
    }

    async fn add_update_reply(
        &self,
        update: &IncidentUpdate,
        message: &Message,
    ) -> PortResult<bool> {
        let record = Item::from([
            ("pk".to_owned(), s(reply_key(update.id))),
            ("sk".to_owned(), s(link_sk(message.conversation_id))),
            ("msg".to_owned(), s(message.id.to_string())),
            ("outcome".to_owned(), s("queued")),
        ]);
        let mut writes = self.outbound_writes(message).await?;
        writes.push(put(self, record, Some("attribute_not_exists(pk)"))?);
        writes.push(self.count_write(
            &incident_key(update.incident_id),
            &update_key(update.id),
            "queued",
            1,
        )?);
        match self.transact(writes).await {
            Ok(()) => Ok(true),
            Err(PortError::Conflict(reason)) => {
                if self
                    .update_reply(update.id, message.conversation_id)
                    .await?
                    .is_some()
                {
                    Ok(false)
                } else {
                    Err(PortError::Unavailable(format!(
                        "the update's reply was not written, and may be: {reason}"
                    )))
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn update_reply(
        &self,
        update: IncidentUpdateId,
        conversation: ConversationId,
    ) -> PortResult<Option<MessageId>> {
        let Some(item) = self.get(&reply_key(update), &link_sk(conversation)).await? else {
            return Ok(None);
        };
        items::parsed(&item, "msg").map(Some)
    }

    async fn settle_update_reply(
        &self,
        incident: IncidentId,
        update: IncidentUpdateId,
        conversation: ConversationId,
        sent: bool,
    ) -> PortResult<bool> {
        let outcome = if sent { "sent" } else { "failed" };
        let record = Update::builder()
            .table_name(&self.table)
            .key("pk", s(reply_key(update)))
            .key("sk", s(link_sk(conversation)))
            .update_expression("SET outcome = :outcome")
            .condition_expression("outcome = :queued")
            .expression_attribute_values(":outcome", s(outcome))
            .expression_attribute_values(":queued", s("queued"))
            .build()
            .map_err(build_error)?;
        let writes = vec![
            TransactWriteItem::builder().update(record).build(),
            self.count_write(&incident_key(incident), &update_key(update), outcome, 1)?,
        ];
        match self.transact(writes).await {
            Ok(()) => Ok(true),
            Err(PortError::Conflict(reason)) => {
                let settled = self
                    .get(&reply_key(update), &link_sk(conversation))
                    .await?
                    .and_then(|item| items::string(&item, "outcome"))
                    .is_none_or(|o| o != "queued");
                if settled {
                    Ok(false)
                } else {
                    Err(PortError::Unavailable(format!(
                        "the reply's outcome was not counted, and may be: {reason}"
                    )))
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn burst_watch(&self) -> PortResult<BurstWatch> {
        match self.get(WATCH, keys::META).await? {
            Some(item) => from_json(&item),
            None => Ok(BurstWatch::default()),
        }
    }

    async fn save_burst_watch(&self, watch: &BurstWatch) -> PortResult<()> {
        self.put(json_item(WATCH, keys::META, watch)?, None).await
    }

    async fn finish_fan_out(
        &self,
        incident: IncidentId,
        update: IncidentUpdateId,
    ) -> PortResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(incident_key(incident)))
            .key("sk", s(update_key(update)))
            .update_expression("SET done = :yes")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:UpdateItem", e))?;
        Ok(())
    }
}
