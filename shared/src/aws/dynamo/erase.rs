//! Applying an erasure plan. A contact's data spans many partitions, more than one
//! transaction holds, so the plan goes in steps that can each be repeated, and the roots
//! go last: a conversation's items and pointers, then the conversation itself (on its
//! version), then the identities, then the contact (on its version) with the tombstone.
//! Should a step fail, what remains is still found from the contact or the conversation,
//! and reading and planning again finishes the work. Every batch of a conversation's
//! items checks the conversation's version, so a message that arrives meanwhile stops the
//! erasure before it removes anything planned on too little.

use super::items::{self, StoredContact};
use super::routing::{build_error, put, put_with};
use super::{DynamoStore, Item, keys, n, s};
use crate::model::{ContactId, Erasure, MergeSuggestion};
use crate::ports::{PortError, PortResult};
use crate::services::erasure::{ContactErasure, ConversationErasure, HeadChange, source_digest};
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, TransactWriteItem, Update};

/// Deletes per transaction, beside the check of the conversation's version.
const BATCH: usize = 99;

/// Attempts at another contact's suggestions while routers write to it.
const ATTEMPTS: usize = 5;

impl DynamoStore {
    pub(super) async fn erase_conversation(
        &self,
        c: &ConversationErasure,
        expires_at: i64,
    ) -> PortResult<()> {
        let pk = keys::conversation(c.id);
        let mut writes = Vec::new();
        for message in &c.messages {
            writes.push(self.delete(&keys::message(*message), keys::META)?);
            writes.push(self.delete(&pk, &keys::timeline(message.ulid()))?);
        }
        for source in &c.source_ids {
            // The marker goes; its digest keeps a redelivery out.
            writes.push(self.delete(&keys::source(source.as_str()), keys::META)?);
            let tombstone = Item::from([
                (
                    "pk".to_owned(),
                    s(keys::erased_source(&source_digest(source))),
                ),
                ("sk".to_owned(), s(keys::META)),
                ("expires_at".to_owned(), n(expires_at)),
            ]);
            writes.push(put(self, tombstone, None)?);
        }
        for provider_id in &c.provider_ids {
            writes.push(self.delete(&keys::provider(provider_id), keys::META)?);
        }
        for link in &c.links {
            writes.push(self.delete(&keys::link(link), keys::META)?);
            writes.push(self.delete(&pk, &keys::link(link))?);
        }
        for note in &c.notes {
            writes.push(self.delete(&pk, &keys::timeline(note.ulid()))?);
        }
        writes.push(self.delete(&pk, keys::SLA)?);
        for event in &c.events {
            writes.push(self.delete(&pk, &keys::timeline(event.ulid()))?);
        }
        self.delete_checked(c, writes).await?;
        // Notes and events written meanwhile leave the version alone: they go too.
        let mut left = Vec::new();
        for item in self.partition(&pk).await? {
            if let Some(sk) = items::string(&item, "sk").filter(|sk| sk != keys::META) {
                left.push(self.delete(&pk, &sk)?);
            }
        }
        self.delete_checked(c, left).await?;
        // It leaves its incident, in the transaction that deletes it.
        let leaving = match self.read_conversation(c.id).await? {
            Some(conversation) => self.leave_incident(&conversation).await?,
            None => Vec::new(),
        };
        let root = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(keys::META))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(c.version))
            .build()
            .map_err(build_error)?;
        let mut writes = vec![TransactWriteItem::builder().delete(root).build()];
        writes.extend(leaving);
        self.transact(writes).await
    }

    /// `writes` in transactions that each hold only while the conversation is at the
    /// planned version.
    async fn delete_checked(
        &self,
        c: &ConversationErasure,
        writes: Vec<TransactWriteItem>,
    ) -> PortResult<()> {
        let mut writes = writes.into_iter().peekable();
        while writes.peek().is_some() {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .key("pk", s(keys::conversation(c.id)))
                .key("sk", s(keys::META))
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(c.version))
                .build()
                .map_err(build_error)?;
            let mut batch = vec![TransactWriteItem::builder().condition_check(check).build()];
            batch.extend(writes.by_ref().take(BATCH));
            self.transact(batch).await?;
        }
        Ok(())
    }

    pub(super) async fn erase_contact(
        &self,
        c: &ContactErasure,
        record: TransactWriteItem,
    ) -> PortResult<()> {
        for release in &c.identities {
            let key = release.identity.key();
            let pk = keys::identity(&key);
            let mut writes = vec![
                self.delete(&pk, &keys::contact(c.id))?,
                // A survey waiting on the number is theirs too.
                self.delete(&keys::survey_wait(&key), keys::META)?,
            ];
            if release.proven_marker {
                let marker = Delete::builder()
                    .table_name(&self.table)
                    .key("pk", s(pk.clone()))
                    .key("sk", s(keys::PROVEN))
                    .condition_expression("contact_id = :c")
                    .expression_attribute_values(":c", s(c.id.to_string()))
                    .build()
                    .map_err(build_error)?;
                writes.push(TransactWriteItem::builder().delete(marker).build());
            }
            writes.push(self.head_change(&pk, release.head)?);
            self.transact(writes).await?;
        }
        for other in &c.unsuggest {
            self.unsuggest(*other, c.id).await?;
        }
        let contact = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(keys::contact(c.id)))
            .key("sk", s(keys::META))
            .condition_expression("v = :v")
            .expression_attribute_values(":v", n(c.stamp))
            .build()
            .map_err(build_error)?;
        self.transact(vec![
            TransactWriteItem::builder().delete(contact).build(),
            self.delete(&keys::contact(c.id), keys::SURVEYED)?,
            record,
        ])
        .await
    }

    /// The identity's change counter: removed with its last holder, else advanced; on
    /// the version read either way, so a holder added meanwhile makes the plan stale.
    fn head_change(&self, pk: &str, change: HeadChange) -> PortResult<TransactWriteItem> {
        let at_read = |read: u64| {
            if read == 0 {
                ("attribute_not_exists(pk)", None)
            } else {
                ("v = :v", Some(n(read)))
            }
        };
        let item = match change {
            HeadChange::Remove { read: 0 } => {
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .key("pk", s(pk))
                    .key("sk", s(keys::HEAD))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().condition_check(check).build()
            }
            HeadChange::Remove { read } => {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .key("pk", s(pk))
                    .key("sk", s(keys::HEAD))
                    .condition_expression("v = :v")
                    .expression_attribute_values(":v", n(read))
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().delete(delete).build()
            }
            HeadChange::Advance { read } => {
                let (condition, value) = at_read(read);
                let mut update = Update::builder()
                    .table_name(&self.table)
                    .key("pk", s(pk))
                    .key("sk", s(keys::HEAD))
                    .update_expression("SET v = :next")
                    .condition_expression(condition)
                    .expression_attribute_values(":next", n(read + 1));
                if let Some(v) = value {
                    update = update.expression_attribute_values(":v", v);
                }
                TransactWriteItem::builder()
                    .update(update.build().map_err(build_error)?)
                    .build()
            }
        };
        Ok(item)
    }

    /// `other`'s merge suggestions without those naming `erased`, on its version.
    async fn unsuggest(&self, other: ContactId, erased: ContactId) -> PortResult<()> {
        for _ in 0..ATTEMPTS {
            let Some(item) = self.get(&keys::contact(other), keys::META).await? else {
                return Ok(());
            };
            let mut next = StoredContact::read(item)?;
            let suggestions: &mut Vec<MergeSuggestion> = &mut next.contact.merge_suggestions;
            let before = suggestions.len();
            suggestions.retain(|s| s.other_contact_id != erased);
            if suggestions.len() == before {
                return Ok(());
            }
            let (condition, version) = items::contact_condition(next.version);
            let write = put_with(self, next.next_item()?, &condition, &[(":v", version)])?;
            match self.transact(vec![write]).await {
                Ok(()) => return Ok(()),
                Err(PortError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PortError::Conflict(format!(
            "contact {other} kept changing while a suggestion was removed"
        )))
    }

    pub(super) fn record_put(&self, record: &Erasure) -> PortResult<TransactWriteItem> {
        let mut item = items::to_item(record)?;
        item.insert("pk".into(), s(keys::ERASURES));
        item.insert("sk".into(), s(record.id.to_string()));
        put(self, item, Some("attribute_not_exists(pk)"))
    }

    pub(super) fn delete(&self, pk: &str, sk: &str) -> PortResult<TransactWriteItem> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}
