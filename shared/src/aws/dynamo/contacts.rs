//! Contacts: lookup, search by exact identity or name prefix, and merging.

use super::items::{self, StoredContact};
use super::list::{Source, decode_cursor, encode_cursor};
use super::routing::{build_error, put};
use super::{DynamoStore, errors, keys, n, s};
use crate::model::{
    AgentId, Author, Contact, ContactId, ContactProfile, Conversation, EventKind, Identity,
    IdentityKind, TimelineItem, ascii_digits,
};
use crate::ports::{ContactStore, Page, PageRequest, PortError, PortResult};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

/// Attempts at the survivor's final write while routers keep writing to it.
const MERGE_ATTEMPTS: usize = 5;

#[async_trait]
impl ContactStore for DynamoStore {
    async fn search_contacts(&self, query: &str, page: &PageRequest) -> PortResult<Page<Contact>> {
        let query = query.trim();
        let below = page.cursor.as_deref().map(decode_cursor).transpose()?;
        let limit = page.limit as usize;
        if query.is_empty() {
            let sources = [Source {
                index: "gsi1",
                pk: keys::CONTACTS.to_owned(),
            }];
            let listed = self
                .list_desc(&sources, below.as_deref(), limit, |_| true)
                .await?;
            return Ok(Page {
                next_cursor: listed.next.as_deref().map(encode_cursor),
                items: read_contacts(listed.items)?,
            });
        }
        // The first page starts with the contacts holding the identity typed in exactly.
        let mut found: Vec<Contact> = Vec::new();
        if below.is_none() {
            for key in identity_keys(query) {
                for item in self.partition(&keys::identity(&key)).await? {
                    if items::string(&item, "sk").is_some_and(|sk| sk.starts_with("CT#"))
                        && let Some(contact) = self.contact(items::contact_id_of(&item)?).await?
                        && !found.iter().any(|c| c.id == contact.id)
                    {
                        found.push(contact);
                    }
                }
            }
        }
        let Some(partition) = keys::name_partition(query) else {
            return Ok(Page {
                items: found,
                next_cursor: None,
            });
        };
        let prefix = query.to_lowercase();
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi2")
            .key_condition_expression("gsi2pk = :pk AND begins_with(gsi2sk, :prefix)")
            .expression_attribute_values(":pk", s(partition.clone()))
            .expression_attribute_values(":prefix", s(prefix))
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        if let Some(after) = &below {
            request = request
                .exclusive_start_key("gsi2pk", s(partition))
                .exclusive_start_key("gsi2sk", s(after.clone()))
                .exclusive_start_key("pk", s(keys::contact(contact_in_name_key(after)?)))
                .exclusive_start_key("sk", s(keys::META));
        }
        let out = request
            .send()
            .await
            .map_err(|e| errors::sdk("dynamodb:Query", e))?;
        let mut named = out.items.unwrap_or_default();
        let next_cursor = (named.len() > limit)
            .then(|| items::string(&named[limit - 1], "gsi2sk").map(|k| encode_cursor(&k)))
            .flatten();
        named.truncate(limit);
        for contact in read_contacts(named)? {
            if !found.iter().any(|c| c.id == contact.id) {
                found.push(contact);
            }
        }
        Ok(Page {
            items: found,
            next_cursor,
        })
    }

    async fn contact(&self, id: ContactId) -> PortResult<Option<Contact>> {
        Ok(self
            .get(&keys::contact(id), keys::META)
            .await?
            .map(StoredContact::read)
            .transpose()?
            .map(|stored| stored.contact))
    }

    async fn set_contact_profile(
        &self,
        id: ContactId,
        profile: &ContactProfile,
        at: DateTime<Utc>,
    ) -> PortResult<Option<Contact>> {
        for _ in 0..MERGE_ATTEMPTS {
            let Some(item) = self.get(&keys::contact(id), keys::META).await? else {
                return Ok(None);
            };
            let mut next = StoredContact::read(item)?;
            let version = next.version;
            next.contact.tags = profile.tags.clone();
            next.contact.vip = profile.vip;
            next.contact.updated_at = at;
            let (condition, expected) = items::contact_condition(version);
            let write =
                super::routing::put_with(self, next.next_item()?, &condition, &[(":v", expected)])?;
            match self.transact(vec![write]).await {
                Ok(()) => return Ok(Some(next.contact)),
                // The router changed the contact meanwhile: read it again.
                Err(PortError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PortError::Conflict(format!("contact {id} kept changing")))
    }

    async fn contact_timeline(
        &self,
        id: ContactId,
        page: &PageRequest,
    ) -> PortResult<Page<TimelineItem>> {
        self.contact_items(id, page).await
    }

    async fn merge_contacts(
        &self,
        survivor: ContactId,
        absorbed: ContactId,
        actor: AgentId,
        at: DateTime<Utc>,
    ) -> PortResult<Contact> {
        self.merge(survivor, absorbed, Some(actor), at).await
    }
}

impl DynamoStore {
    /// Folds `absorbed` into `survivor`; `actor` is none when routing merged them (a
    /// customer proved both identities theirs).
    pub(super) async fn merge(
        &self,
        survivor: ContactId,
        absorbed: ContactId,
        actor: Option<AgentId>,
        at: DateTime<Utc>,
    ) -> PortResult<Contact> {
        if survivor == absorbed {
            return Err(PortError::Invalid(
                "a contact cannot be merged into itself".into(),
            ));
        }
        let kept = self.stored_contact(survivor).await?;
        let gone = self.stored_contact(absorbed).await?;
        // Each step can be repeated: a merge that stopped half-way finishes when asked again.
        for held in &gone.contact.identities {
            let same = kept
                .contact
                .identities
                .iter()
                .find(|k| k.identity == held.identity);
            let proven = held.proven || same.is_some_and(|k| k.proven);
            let typed = held.typed && same.is_none_or(|k| k.typed);
            self.move_identity(&held.identity.key(), absorbed, survivor, proven, typed)
                .await?;
        }
        let mut conversations: Vec<Conversation> = self
            .index_partition("gsi3", &keys::contact_conversations(absorbed))
            .await?
            .into_iter()
            .map(items::from_item)
            .collect::<PortResult<_>>()?;
        if let Some(latest) = gone.latest_conversation
            && !conversations.iter().any(|c| c.id == latest)
            && let Some(c) = self.read_conversation(latest).await?
        {
            conversations.push(c);
        }
        for c in &conversations {
            self.move_conversation(c.id, absorbed, survivor, actor, at)
                .await?;
        }

        for _ in 0..MERGE_ATTEMPTS {
            let mut next = self.stored_contact(survivor).await?;
            next.contact = next.contact.absorbing(&gone.contact, at);
            let latest = [next.latest_conversation, gone.latest_conversation]
                .into_iter()
                .flatten()
                .max_by_key(|id| id.ulid());
            next.latest_conversation = latest;
            let (condition, version) = items::contact_condition(next.version);
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("pk", s(keys::contact(absorbed)))
                .key("sk", s(keys::META))
                .build()
                .map_err(build_error)?;
            let writes = vec![
                super::routing::put_with(self, next.next_item()?, &condition, &[(":v", version)])?,
                TransactWriteItem::builder().delete(delete).build(),
            ];
            match self.transact(writes).await {
                Ok(()) => {
                    return self.contact(survivor).await?.ok_or(PortError::NotFound);
                }
                Err(PortError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PortError::Conflict(format!(
            "contact {survivor} kept changing during the merge; try again"
        )))
    }

    pub(super) async fn stored_contact(&self, id: ContactId) -> PortResult<StoredContact> {
        let item = self
            .get(&keys::contact(id), keys::META)
            .await?
            .ok_or(PortError::NotFound)?;
        StoredContact::read(item)
    }

    /// `key` moves from `from` to `to` in one transaction that also advances its head.
    async fn move_identity(
        &self,
        key: &str,
        from: ContactId,
        to: ContactId,
        proven: bool,
        typed: bool,
    ) -> PortResult<()> {
        let pk = keys::identity(key);
        let old = self.get(&pk, &keys::contact(from)).await?;
        let added_at = old
            .as_ref()
            .and_then(|item| items::number(item, "added_at"))
            .unwrap_or(0);
        let mut owner = items::owner(key, to, proven, typed);
        owner.insert("added_at".into(), n(added_at));
        let head = Update::builder()
            .table_name(&self.table)
            .key("pk", s(pk.clone()))
            .key("sk", s(keys::HEAD))
            .update_expression("SET v = if_not_exists(v, :zero) + :one")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(build_error)?;
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(pk.clone()))
            .key("sk", s(keys::contact(from)))
            .build()
            .map_err(build_error)?;
        let mut writes = vec![
            TransactWriteItem::builder().update(head).build(),
            TransactWriteItem::builder().delete(delete).build(),
            put(self, owner, None)?,
        ];
        if proven {
            let mut marker = items::pointer(pk, to.to_string());
            marker.insert("sk".into(), s(keys::PROVEN));
            marker.insert("contact_id".into(), s(to.to_string()));
            writes.push(put(self, marker, None)?);
        }
        self.transact(writes).await
    }

    /// The conversation and its customer's messages now belong to `to`.
    async fn move_conversation(
        &self,
        id: crate::model::ConversationId,
        from: ContactId,
        to: ContactId,
        actor: Option<AgentId>,
        at: DateTime<Utc>,
    ) -> PortResult<()> {
        for item in self.partition(&keys::conversation(id)).await? {
            let is_moved_message = items::string(&item, "item").as_deref() == Some("message")
                && items::string(&item, "contact_id") == Some(from.to_string());
            if !is_moved_message {
                continue;
            }
            let TimelineItem::Message(message) = items::from_item(item.clone())? else {
                continue;
            };
            let mut expression = "SET contact_id = :to".to_owned();
            if matches!(message.author, Author::Contact { .. }) {
                expression.push_str(", author.contact_id = :to");
            }
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(keys::conversation(id)))
                .key(
                    "sk",
                    item.get("sk")
                        .cloned()
                        .unwrap_or(AttributeValue::Null(true)),
                )
                .update_expression(expression)
                .expression_attribute_values(":to", s(to.to_string()))
                .send()
                .await
                .map_err(|e| errors::sdk("dynamodb:UpdateItem", e))?;
        }
        for _ in 0..MERGE_ATTEMPTS {
            let Some(c) = self.read_conversation(id).await? else {
                return Ok(());
            };
            if c.contact_id == to {
                return Ok(());
            }
            let next = Conversation {
                contact_id: to,
                updated_at: at,
                ..c.clone()
            };
            let event = crate::model::Event::new(
                id,
                EventKind::ContactsMerged {
                    survivor: to,
                    absorbed: from,
                },
                actor,
                at,
            );
            match crate::ports::ConversationStore::save_conversation(
                self,
                &next,
                c.version,
                &[event],
            )
            .await
            {
                Ok(_) => return Ok(()),
                Err(PortError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PortError::Conflict(format!(
            "conversation {id} kept changing during the merge; try again"
        )))
    }
}

fn read_contacts(raw: Vec<super::Item>) -> PortResult<Vec<Contact>> {
    raw.into_iter()
        .map(|item| StoredContact::read(item).map(|stored| stored.contact))
        .collect()
}

/// The identity keys a search text could be, written exactly.
fn identity_keys(query: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(email) = crate::model::EmailAddress::parse(query) {
        found.push(Identity::email(&email).key());
    }
    let digits = ascii_digits(query);
    let compact: String = digits
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    if compact.starts_with('+') && compact.len() > 4 {
        found.push(format!("{}:{compact}", IdentityKind::Phone.as_str()));
    }
    if query.chars().all(|c| c.is_ascii_digit()) {
        found.push(format!("{}:{query}", IdentityKind::Telegram.as_str()));
    }
    found
}

/// The contact id at the end of a name-index sort key (`<name>#<id>`).
fn contact_in_name_key(key: &str) -> PortResult<ContactId> {
    key.rsplit_once('#')
        .and_then(|(_, id)| id.parse().ok())
        .ok_or_else(|| PortError::Invalid("the cursor is not one this server issued".into()))
}
