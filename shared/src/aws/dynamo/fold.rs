//! Folding one conversation into another of the same contact. A timeline holds more
//! items than a transaction, so its items move in batches, each holding only while `from`
//! is at the version read: a message that arrives meanwhile stops the fold, and reading
//! both again and repeating finishes it (an item already moved is simply not there to
//! move again). The roots go last, in one transaction: `into` saved on its version with
//! the fold's event, `from` removed on its version, and the contact's latest conversation
//! pointed at `into` where it named `from`.

use super::items::{self, StoredContact};
use super::routing::{build_error, put, put_with};
use super::{DynamoStore, keys, n, s, stream};
use crate::model::{Conversation, Event, TimelineItem};
use crate::ports::{PortError, PortResult};
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, TransactWriteItem, Update};

/// Timeline items per transaction: a message takes three writes (its item in `into`,
/// its old item gone, its pointer), beside the check of `from`'s version.
const BATCH: usize = 33;

impl DynamoStore {
    pub(super) async fn fold(
        &self,
        from: &Conversation,
        into: &Conversation,
        expected_version: u64,
        event: &Event,
    ) -> PortResult<Conversation> {
        let from_pk = keys::conversation(from.id);
        let mut moved = Vec::new();
        for item in self.partition(&from_pk).await? {
            let Some(sk) = items::string(&item, "sk") else {
                continue;
            };
            if !sk.starts_with(keys::TIMELINE) {
                continue;
            }
            let entry: TimelineItem = items::from_item(item)?;
            moved.push((sk, entry.moved_to(into.id)));
        }
        for batch in moved.chunks(BATCH) {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .key("pk", s(from_pk.clone()))
                .key("sk", s(keys::META))
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(from.version))
                .build()
                .map_err(build_error)?;
            let mut writes = vec![TransactWriteItem::builder().condition_check(check).build()];
            for (sk, entry) in batch {
                // Marked moved: the event log has had it since it was first written.
                let mut item = items::timeline(into.id, entry)?;
                item.insert(stream::MOVED.into(), AttributeValue::Bool(true));
                writes.push(put(self, item, None)?);
                writes.push(self.delete(&from_pk, sk)?);
                if let TimelineItem::Message(m) = entry {
                    writes.push(put(self, items::message_pointer(m), None)?);
                }
            }
            self.transact(writes).await?;
        }

        let next = Conversation {
            version: expected_version + 1,
            ..into.clone()
        };
        let mut roots = vec![
            put_with(
                self,
                items::conversation(&next)?,
                "version = :expected",
                &[(":expected", n(expected_version))],
            )?,
            put(
                self,
                items::timeline(into.id, &TimelineItem::Event(event.clone()))?,
                None,
            )?,
            root_delete(self, &from_pk, from.version)?,
            // Its clocks, report track and survey go with it: the conversation it joins
            // keeps its own.
            self.delete(&from_pk, keys::SLA)?,
            self.delete(&from_pk, keys::REPORT)?,
            self.delete(&from_pk, keys::SURVEY)?,
        ];
        // It leaves its incident; the conversation it joins keeps its own.
        roots.extend(self.leave_incident(from).await?);
        let contact = self
            .get(&keys::contact(from.contact_id), keys::META)
            .await?;
        let latest = contact
            .map(StoredContact::read)
            .transpose()?
            .and_then(|c| c.latest_conversation);
        if latest == Some(from.id) {
            let repoint = Update::builder()
                .table_name(&self.table)
                .key("pk", s(keys::contact(from.contact_id)))
                .key("sk", s(keys::META))
                .update_expression("SET latest_cv = :into, v = v + :one")
                .condition_expression("latest_cv = :from")
                .expression_attribute_values(":into", s(into.id.to_string()))
                .expression_attribute_values(":from", s(from.id.to_string()))
                .expression_attribute_values(":one", n(1))
                .build()
                .map_err(build_error)?;
            roots.push(TransactWriteItem::builder().update(repoint).build());
        }
        match self.transact(roots).await {
            Ok(()) => Ok(next),
            Err(PortError::Conflict(_)) => Err(PortError::Conflict(format!(
                "conversation {} or {} changed meanwhile",
                from.id, into.id
            ))),
            Err(e) => Err(e),
        }
    }
}

/// The folded conversation itself, only while it is at the version read.
fn root_delete(store: &DynamoStore, pk: &str, version: u64) -> PortResult<TransactWriteItem> {
    let delete = Delete::builder()
        .table_name(&store.table)
        .key("pk", s(pk))
        .key("sk", s(keys::META))
        .condition_expression("version = :v")
        .expression_attribute_values(":v", n(version))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}
