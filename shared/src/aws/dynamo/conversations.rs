//! Conversations, their timelines, and messages.

use super::items::{self, conversation_order};
use super::list::{Source, decode_cursor, encode_cursor};
use super::routing::{build_error, put, put_with};
use super::{DynamoStore, errors, held, keys, n, s};
use crate::model::{
    Conversation, ConversationId, ConversationStatus, DeliveryStatus, Event, EventId, Message,
    MessageId, Note, NoteId, SourceId, TimelineItem, preview_of,
};
use crate::ports::{
    AssigneeFilter, ConversationFilter, ConversationStore, LATEST_SCAN_ITEMS, MAX_PAGE_SIZE,
    MessageStore, MessageWindow, Page, PageRequest, PortError, PortResult, StatusFilter,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::{DateTime, Utc};

const ALL_STATUSES: [ConversationStatus; 4] = [
    ConversationStatus::Open,
    ConversationStatus::Pending,
    ConversationStatus::Snoozed,
    ConversationStatus::Resolved,
];

#[async_trait]
impl ConversationStore for DynamoStore {
    async fn list_conversations(
        &self,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> PortResult<Page<Conversation>> {
        if filter
            .query
            .as_deref()
            .is_some_and(|q| !q.trim().is_empty())
        {
            return Err(PortError::Invalid(
                "searching conversation text (`q`) needs the embedded store's search index; \
                 on AWS filter by status, assignee, team, channel, tag, priority or contact"
                    .into(),
            ));
        }
        let below = page.cursor.as_deref().map(decode_cursor).transpose()?;
        let sources = sources_for(filter);
        let listed = self
            .list_desc(&sources, below.as_deref(), page.limit as usize, |item| {
                items::from_item::<Conversation>(item.clone()).is_ok_and(|c| filter.admits(&c))
            })
            .await?;
        let items = listed
            .items
            .into_iter()
            .map(items::from_item)
            .collect::<PortResult<Vec<Conversation>>>()?;
        Ok(Page {
            next_cursor: listed.next.as_deref().map(encode_cursor),
            items,
        })
    }

    async fn conversation(&self, id: ConversationId) -> PortResult<Option<Conversation>> {
        self.read_conversation(id).await
    }

    async fn save_conversation(
        &self,
        c: &Conversation,
        expected_version: u64,
        events: &[Event],
    ) -> PortResult<Conversation> {
        let next = Conversation {
            version: expected_version + 1,
            ..c.clone()
        };
        let mut writes = vec![put_with(
            self,
            items::conversation(&next)?,
            "version = :expected",
            &[(":expected", n(expected_version))],
        )?];
        for event in events {
            writes.push(put(
                self,
                items::timeline(c.id, &TimelineItem::Event(event.clone()))?,
                None,
            )?);
        }
        match self.transact(writes).await {
            Ok(()) => Ok(next),
            Err(PortError::Conflict(_)) if self.read_conversation(c.id).await?.is_none() => {
                Err(PortError::NotFound)
            }
            Err(PortError::Conflict(_)) => Err(PortError::Conflict(format!(
                "conversation {} changed since version {expected_version}",
                c.id
            ))),
            Err(e) => Err(e),
        }
    }

    async fn fold_conversation(
        &self,
        from: &Conversation,
        into: &Conversation,
        expected_version: u64,
        event: &Event,
    ) -> PortResult<Conversation> {
        self.fold(from, into, expected_version, event).await
    }

    async fn latest_messages(&self, id: ConversationId, count: usize) -> PortResult<Vec<Message>> {
        // Messages, notes and events share the timeline's sort key: read it backwards a
        // page at a time, keeping messages, until there are enough or the scan limit.
        let mut messages = Vec::new();
        let mut read = 0;
        let mut start = None;
        while messages.len() < count && read < LATEST_SCAN_ITEMS {
            let page = (LATEST_SCAN_ITEMS - read).min(100);
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :timeline)")
                .expression_attribute_values(":pk", s(keys::conversation(id)))
                .expression_attribute_values(":timeline", s(keys::TIMELINE.to_owned()))
                .scan_index_forward(false)
                .consistent_read(true)
                .limit(i32::try_from(page).unwrap_or(100))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| errors::sdk("dynamodb:Query", e))?;
            let items = out.items.unwrap_or_default();
            read += items.len();
            for item in items {
                if let TimelineItem::Message(m) = read_timeline_item(item)? {
                    messages.push(m);
                }
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => break,
            }
        }
        messages.truncate(count);
        Ok(messages)
    }

    async fn messages_before(
        &self,
        id: ConversationId,
        before: Option<ulid::Ulid>,
        count: usize,
    ) -> PortResult<MessageWindow> {
        // Messages, notes and events share the timeline's sort key: read it backwards
        // from `before`, keeping messages, until one more than asked (so we know older
        // ones remain), the timeline's start, or the scan limit.
        let count = count.clamp(1, MAX_PAGE_SIZE as usize);
        let upper = match before {
            Some(position) => keys::timeline(position),
            // Above every ULID.
            None => format!("{}~", keys::TIMELINE),
        };
        let mut messages = Vec::new();
        let mut read = 0;
        let mut last_read = None;
        let mut start = None;
        loop {
            let page = (LATEST_SCAN_ITEMS - read).min(100);
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :first AND :upper")
                .expression_attribute_values(":pk", s(keys::conversation(id)))
                .expression_attribute_values(":first", s(keys::TIMELINE.to_owned()))
                .expression_attribute_values(":upper", s(upper.clone()))
                .scan_index_forward(false)
                .consistent_read(true)
                .limit(i32::try_from(page).unwrap_or(100))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| errors::sdk("dynamodb:Query", e))?;
            for item in out.items.unwrap_or_default() {
                read += 1;
                let item = read_timeline_item(item)?;
                let position = timeline_position(&item);
                // BETWEEN takes its bounds in: `before` itself is not before itself.
                if Some(position) == before {
                    continue;
                }
                last_read = Some(position);
                if let TimelineItem::Message(m) = item {
                    messages.push(m);
                    if messages.len() > count {
                        messages.truncate(count);
                        let older = messages.last().map(|m| m.id.ulid());
                        return Ok(MessageWindow { messages, older });
                    }
                }
            }
            match out.last_evaluated_key {
                // The scan limit: the next window goes on from the last item read.
                Some(_) if read >= LATEST_SCAN_ITEMS => {
                    return Ok(MessageWindow {
                        messages,
                        older: last_read,
                    });
                }
                Some(key) => start = Some(key),
                None => {
                    return Ok(MessageWindow {
                        messages,
                        older: None,
                    });
                }
            }
        }
    }

    async fn timeline(
        &self,
        id: ConversationId,
        page: &PageRequest,
    ) -> PortResult<Page<TimelineItem>> {
        let after = match page.cursor.as_deref() {
            Some(cursor) => decode_cursor(cursor)?,
            None => keys::TIMELINE.to_owned(),
        };
        if !after.starts_with(keys::TIMELINE) {
            return Err(PortError::Invalid(
                "the cursor is not one this server issued".into(),
            ));
        }
        let limit = page.limit as usize;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk > :after")
            .expression_attribute_values(":pk", s(keys::conversation(id)))
            .expression_attribute_values(":after", s(after))
            .consistent_read(true)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:Query", e))?;
        let mut raw = out.items.unwrap_or_default();
        let next_cursor = (raw.len() > limit)
            .then(|| items::string(&raw[limit - 1], "sk").map(|sk| encode_cursor(&sk)))
            .flatten();
        raw.truncate(limit);
        let items = raw
            .into_iter()
            .map(read_timeline_item)
            .collect::<PortResult<Vec<_>>>()?;
        Ok(Page { items, next_cursor })
    }

    async fn add_note(&self, note: &Note) -> PortResult<()> {
        self.put(
            items::timeline(note.conversation_id, &TimelineItem::Note(note.clone()))?,
            None,
        )
        .await
    }

    async fn note(&self, id: ConversationId, note: NoteId) -> PortResult<Option<Note>> {
        let Some(item) = self
            .get(&keys::conversation(id), &keys::timeline(note.ulid()))
            .await?
        else {
            return Ok(None);
        };
        match read_timeline_item(item)? {
            TimelineItem::Note(n) => Ok(Some(n)),
            _ => Ok(None),
        }
    }

    async fn event(&self, id: ConversationId, event: EventId) -> PortResult<Option<Event>> {
        let Some(item) = self
            .get(&keys::conversation(id), &keys::timeline(event.ulid()))
            .await?
        else {
            return Ok(None);
        };
        match read_timeline_item(item)? {
            TimelineItem::Event(e) => Ok(Some(e)),
            _ => Ok(None),
        }
    }

    async fn snoozed_until_before(
        &self,
        at: DateTime<Utc>,
        limit: u32,
    ) -> PortResult<Vec<Conversation>> {
        let mut due: Vec<Conversation> = self
            .index_partition("gsi1", &keys::status(ConversationStatus::Snoozed))
            .await?
            .into_iter()
            .map(items::from_item::<Conversation>)
            .collect::<PortResult<Vec<_>>>()?
            .into_iter()
            .filter(|c| c.snoozed_until.is_some_and(|until| until <= at))
            .collect();
        due.sort_by_key(|c| c.snoozed_until);
        due.truncate(limit as usize);
        Ok(due)
    }

    async fn changed_between(
        &self,
        status: ConversationStatus,
        after: (DateTime<Utc>, Option<ConversationId>),
        until: DateTime<Utc>,
        limit: u32,
    ) -> PortResult<Vec<Conversation>> {
        let (after_at, after_id) = after;
        // The index orders by `<millis>#<id>`: from the position (read again, and left
        // out) to the end of `until`'s millisecond.
        let low = keys::by_time(
            after_at,
            &after_id.map_or_else(String::new, |id| id.to_string()),
        );
        let high = keys::by_time(until, &"~");
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi1")
                .key_condition_expression("gsi1pk = :pk AND gsi1sk BETWEEN :low AND :high")
                .expression_attribute_values(":pk", s(keys::status(status)))
                .expression_attribute_values(":low", s(&low))
                .expression_attribute_values(":high", s(&high))
                .limit(i32::try_from(limit.saturating_add(1)).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| errors::sdk("dynamodb:Query", e))?;
            for item in out.items.unwrap_or_default() {
                let c: Conversation = items::from_item(item)?;
                let at_position = after_id.is_some_and(|id| id == c.id)
                    && c.updated_at.timestamp_millis() == after_at.timestamp_millis();
                if !at_position && found.len() < limit as usize {
                    found.push(c);
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() || found.len() >= limit as usize {
                return Ok(found);
            }
        }
    }

    async fn conversation_for_link(&self, link_hash: &str) -> PortResult<Option<ConversationId>> {
        Ok(self
            .get(&keys::link(link_hash), keys::META)
            .await?
            .and_then(|item| items::string(&item, "target"))
            .and_then(|id| id.parse().ok()))
    }
}

/// The index partitions that hold every conversation `filter` can match.
fn sources_for(filter: &ConversationFilter) -> Vec<Source> {
    if let Some(contact) = filter.contact {
        return vec![Source {
            index: "gsi3",
            pk: keys::contact_conversations(contact),
        }];
    }
    let statuses: Vec<ConversationStatus> = match filter.status {
        StatusFilter::All => ALL_STATUSES.to_vec(),
        StatusFilter::Only(status) => vec![status],
    };
    let assignee = match filter.assignee {
        AssigneeFilter::Anyone => None,
        AssigneeFilter::Unassigned => Some(None),
        AssigneeFilter::Agent(agent) => Some(Some(agent)),
    };
    match assignee {
        Some(agent) => {
            let mut resolved = vec![];
            if statuses.iter().any(|s| *s != ConversationStatus::Resolved) {
                resolved.push(false);
            }
            if statuses.contains(&ConversationStatus::Resolved) {
                resolved.push(true);
            }
            resolved
                .into_iter()
                .map(|r| Source {
                    index: "gsi2",
                    pk: keys::assignee(agent, r),
                })
                .collect()
        }
        None => statuses
            .into_iter()
            .map(|status| Source {
                index: "gsi1",
                pk: keys::status(status),
            })
            .collect(),
    }
}

/// A timeline item, with a message's delivery fields as last set.
fn read_timeline_item(item: super::Item) -> PortResult<TimelineItem> {
    items::from_item(item)
}

/// Where an item sits in its timeline (its sort key is `TL#` and this).
fn timeline_position(item: &TimelineItem) -> ulid::Ulid {
    match item {
        TimelineItem::Message(m) => m.id.ulid(),
        TimelineItem::Note(note) => note.id.ulid(),
        TimelineItem::Event(e) => e.id.ulid(),
    }
}

#[async_trait]
impl MessageStore for DynamoStore {
    async fn add_outbound(&self, message: &Message) -> PortResult<()> {
        let writes = self.outbound_writes(message).await?;
        self.transact(writes).await
    }

    async fn message(&self, id: MessageId) -> PortResult<Option<Message>> {
        let Some((pk, sk)) = self.message_location(id).await? else {
            return Ok(None);
        };
        match self
            .get(&pk, &sk)
            .await?
            .map(read_timeline_item)
            .transpose()?
        {
            Some(TimelineItem::Message(m)) => Ok(Some(m)),
            _ => Ok(None),
        }
    }

    async fn claim_send(&self, id: MessageId) -> PortResult<bool> {
        let Some((pk, sk)) = self.message_location(id).await? else {
            return Ok(false);
        };
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression("SET delivery_status = :sending")
            .condition_expression("delivery_status = :queued")
            .expression_attribute_values(":sending", items::to_value(&DeliveryStatus::Sending)?)
            .expression_attribute_values(":queued", items::to_value(&DeliveryStatus::Queued)?);
        held(update).await
    }

    async fn set_delivery_status(
        &self,
        id: MessageId,
        status: DeliveryStatus,
        error: Option<&str>,
        provider_id: Option<&str>,
    ) -> PortResult<()> {
        let (pk, sk) = self
            .message_location(id)
            .await?
            .ok_or(PortError::NotFound)?;
        let mut expression = "SET delivery_status = :status, delivery_error = :error".to_owned();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":status", items::to_value(&status)?)
            .expression_attribute_values(":error", items::to_value(&error)?);
        if let Some(provider_id) = provider_id {
            expression.push_str(", provider_id = :provider");
            update = update.expression_attribute_values(":provider", s(provider_id));
        }
        match update.update_expression(expression).send().await {
            Ok(_) => {}
            Err(e) => {
                return match errors::sdk("dynamodb:UpdateItem", e) {
                    PortError::Conflict(_) => Err(PortError::NotFound),
                    other => Err(other),
                };
            }
        }
        if let Some(provider_id) = provider_id {
            // A customer's reply to this message names it by the provider's id.
            self.put(
                items::pointer(keys::provider(provider_id), id.to_string()),
                None,
            )
            .await?;
        }
        Ok(())
    }

    async fn message_by_provider_id(&self, provider_id: &str) -> PortResult<Option<MessageId>> {
        match self.get(&keys::provider(provider_id), keys::META).await? {
            Some(item) => items::parsed(&item, "target").map(Some),
            None => Ok(None),
        }
    }

    async fn message_by_source_id(&self, source_id: &SourceId) -> PortResult<Option<MessageId>> {
        match self
            .get(&keys::source(source_id.as_str()), keys::META)
            .await?
        {
            Some(item) => items::parsed(&item, "target").map(Some),
            None => Ok(None),
        }
    }

    async fn settle_delivery(
        &self,
        id: MessageId,
        status: DeliveryStatus,
        error: Option<&str>,
    ) -> PortResult<bool> {
        let Some((pk, sk)) = self.message_location(id).await? else {
            return Ok(false);
        };
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression("attribute_exists(pk) AND delivery_status = :sent")
            .update_expression("SET delivery_status = :status, delivery_error = :error")
            .expression_attribute_values(":sent", items::to_value(&DeliveryStatus::Sent)?)
            .expression_attribute_values(":status", items::to_value(&status)?)
            .expression_attribute_values(":error", items::to_value(&error)?);
        held(update).await
    }
}

impl DynamoStore {
    /// The key of a message's timeline item, from its pointer.
    async fn message_location(&self, id: MessageId) -> PortResult<Option<(String, String)>> {
        let Some(pointer) = self.get(&keys::message(id), keys::META).await? else {
            return Ok(None);
        };
        let conversation: ConversationId = items::parsed(&pointer, "conversation_id")?;
        let sk = items::string(&pointer, "timeline_sk")
            .ok_or_else(|| PortError::Internal(format!("message {id} has no timeline key")))?;
        Ok(Some((keys::conversation(conversation), sk)))
    }
}

impl DynamoStore {
    /// The writes that store a reply and bump its conversation (`NotFound` without one).
    pub(super) async fn outbound_writes(
        &self,
        message: &Message,
    ) -> PortResult<Vec<TransactWriteItem>> {
        let Some(current) = self.read_conversation(message.conversation_id).await? else {
            return Err(PortError::NotFound);
        };
        // The indexes order by the new activity time.
        let bumped = Conversation {
            updated_at: message.created_at,
            ..current.clone()
        };
        let order = conversation_order(&bumped);
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(keys::conversation(message.conversation_id)))
            .key("sk", s(keys::META))
            .update_expression(if message.answers_the_customer() {
                "SET message_count = message_count + :one, preview = :preview, \
                 updated_at = :at, version = version + :one, \
                 gsi1sk = :order, gsi2sk = :order, gsi3sk = :order REMOVE waiting_since"
            } else {
                "SET message_count = message_count + :one, preview = :preview, \
                 updated_at = :at, version = version + :one, \
                 gsi1sk = :order, gsi2sk = :order, gsi3sk = :order"
            })
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":preview", s(preview_of(&message.text)))
            .expression_attribute_values(":at", items::to_value(&message.created_at)?)
            .expression_attribute_values(":order", s(order))
            .build()
            .map_err(build_error)?;
        let writes = vec![
            TransactWriteItem::builder().update(update).build(),
            put(
                self,
                items::timeline(
                    message.conversation_id,
                    &TimelineItem::Message(message.clone()),
                )?,
                Some("attribute_not_exists(pk)"),
            )?,
            put(self, items::message_pointer(message), None)?,
        ];
        Ok(writes)
    }
}
