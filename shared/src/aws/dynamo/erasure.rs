//! Erasure on DynamoDB: the holdings read consistently, the plan applied in repeatable
//! steps (`erase`), the tombstones in one partition of their own.

use super::items::{self, StoredContact};
use super::list::{decode_cursor, encode_cursor};
use super::{DynamoStore, errors, keys, s};
use crate::model::{ContactId, ConversationId, Erasure, TimelineItem};
use crate::ports::{ErasureStore, Page, PageRequest, PortError, PortResult};
use crate::services::erasure::{
    ContactHoldings, ConversationHoldings, ErasurePlan, IdentityHolding,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
impl ErasureStore for DynamoStore {
    async fn contact_holdings(&self, id: ContactId) -> PortResult<Option<ContactHoldings>> {
        let Some(item) = self.get(&keys::contact(id), keys::META).await? else {
            return Ok(None);
        };
        let stored = StoredContact::read(item)?;
        let mut identities = Vec::with_capacity(stored.contact.identities.len());
        for held in &stored.contact.identities {
            identities.push(self.identity_holding(held.identity.clone()).await?);
        }
        let conversations = self
            .conversations_of(id, stored.latest_conversation)
            .await?;
        Ok(Some(ContactHoldings {
            stamp: stored.version,
            contact: stored.contact,
            identities,
            conversations,
        }))
    }

    async fn conversation_holdings(
        &self,
        id: ConversationId,
    ) -> PortResult<Option<ConversationHoldings>> {
        let mut conversation = None;
        let mut held = Vec::new();
        let mut provider_ids = Vec::new();
        let mut links = Vec::new();
        for item in self.partition(&keys::conversation(id)).await? {
            let sk = items::string(&item, "sk").unwrap_or_default();
            if sk == keys::META {
                conversation = Some(items::from_item(item)?);
            } else if let Some(hash) = sk.strip_prefix(keys::LINK) {
                links.push(hash.to_owned());
            } else if sk.starts_with(keys::TIMELINE) {
                provider_ids.extend(items::string(&item, "provider_id"));
                held.push(items::from_item::<TimelineItem>(item)?);
            }
        }
        Ok(conversation.map(|conversation| ConversationHoldings {
            conversation,
            items: held,
            provider_ids,
            links,
        }))
    }

    async fn apply_erasure(&self, plan: &ErasurePlan) -> PortResult<()> {
        let expires_at = plan.sources_expire_at.timestamp();
        for c in &plan.conversations {
            self.forget_deliveries_about(&c.id.to_string()).await?;
            self.erase_conversation(c, expires_at).await?;
        }
        if let Some(contact) = &plan.contact {
            self.forget_deliveries_about(&contact.id.to_string())
                .await?;
        }
        let record = self.record_put(&plan.record)?;
        match &plan.contact {
            Some(contact) => self.erase_contact(contact, record).await,
            None => self.transact(vec![record]).await,
        }
    }

    async fn resolved_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> PortResult<Vec<ConversationId>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :pk AND gsi1sk < :before")
            .expression_attribute_values(
                ":pk",
                s(keys::status(crate::model::ConversationStatus::Resolved)),
            )
            .expression_attribute_values(
                ":before",
                s(format!("{:013}", before.timestamp_millis().max(0))),
            )
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:Query", e))?;
        out.items
            .unwrap_or_default()
            .iter()
            .map(|item| items::parsed(item, "id"))
            .collect()
    }

    async fn erasures(&self, page: &PageRequest) -> PortResult<Page<Erasure>> {
        let limit = page.limit as usize;
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(keys::ERASURES))
            .scan_index_forward(false)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        query = match page.cursor.as_deref() {
            Some(cursor) => {
                let ulid = ulid::Ulid::from_string(&decode_cursor(cursor)?).map_err(|_| {
                    PortError::Invalid("the cursor is not one this server issued".into())
                })?;
                query
                    .key_condition_expression("pk = :pk AND sk < :below")
                    .expression_attribute_values(
                        ":below",
                        s(format!("er_{}", ulid.to_string().to_ascii_lowercase())),
                    )
            }
            None => query.key_condition_expression("pk = :pk"),
        };
        let out = query
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:Query", e))?;
        let mut items: Vec<Erasure> = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(items::from_item)
            .collect::<PortResult<_>>()?;
        let next_cursor = (items.len() > limit).then(|| {
            items.truncate(limit);
            encode_cursor(&items[limit - 1].id.ulid().to_string())
        });
        Ok(Page { items, next_cursor })
    }
}

impl DynamoStore {
    /// Who holds an identity, read consistently: its owner items, its proven-holder
    /// marker and its change counter.
    async fn identity_holding(
        &self,
        identity: crate::model::Identity,
    ) -> PortResult<IdentityHolding> {
        let mut holding = IdentityHolding {
            identity,
            holders: Vec::new(),
            proven_marker: None,
            head: 0,
        };
        for item in self
            .partition(&keys::identity(&holding.identity.key()))
            .await?
        {
            match items::string(&item, "sk").as_deref() {
                Some(keys::HEAD) => holding.head = items::number(&item, "v").unwrap_or(0),
                Some(keys::PROVEN) => holding.proven_marker = Some(items::contact_id_of(&item)?),
                Some(sk) if sk.starts_with("CT#") => {
                    holding.holders.push(items::contact_id_of(&item)?);
                }
                _ => {}
            }
        }
        Ok(holding)
    }

    /// The contact's conversations: the index lists them, the contact names its latest,
    /// and each is read to be sure it is still theirs (the index may lag a merge or an
    /// erasure by a moment).
    pub(super) async fn conversations_of(
        &self,
        id: ContactId,
        latest: Option<ConversationId>,
    ) -> PortResult<Vec<ConversationId>> {
        let mut listed: Vec<ConversationId> = self
            .index_partition("gsi3", &keys::contact_conversations(id))
            .await?
            .iter()
            .map(|item| items::parsed(item, "id"))
            .collect::<PortResult<_>>()?;
        listed.extend(latest);
        listed.sort();
        listed.dedup();
        let mut theirs = Vec::with_capacity(listed.len());
        for conversation in listed {
            if self
                .read_conversation(conversation)
                .await?
                .is_some_and(|c| c.contact_id == id)
            {
                theirs.push(conversation);
            }
        }
        Ok(theirs)
    }
}
