//! Routing as one transaction: read consistently, let the policy decide, write every
//! change on the versions that were read. A lost race is read and decided again.

use super::items::{self, StoredContact};
use super::{DynamoStore, Item, keys, n, s};
use crate::model::{
    AgentId, AgentLoad, AssignNeed, Assignment, Channel, ContactId, ContactIdentity, Conversation,
    Event, Identity, InboundMessage, MergeSuggestion, MessageId, Reachability, SourceId,
    ThreadHint, TimelineItem,
};
use crate::ports::{PortError, PortResult, RouteOutcome, RoutingStore};
use crate::services::erasure::source_digest;
use crate::services::route::{
    ContactChange, ConversationChange, IdentityOwner, RouteContext, RouteError, RoutePlan,
    RoutePolicy, choose_assignee, language_among, owners_read,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// Attempts at one message before the conflict goes back to the queue.
const ATTEMPTS: u32 = 4;

#[async_trait]
impl RoutingStore for DynamoStore {
    async fn route(
        &self,
        message: &InboundMessage,
        policy: &RoutePolicy,
    ) -> PortResult<RouteOutcome> {
        let mut last_conflict = String::new();
        for attempt in 1..=ATTEMPTS {
            if let Some(stored) = self.stored_source(message).await? {
                return Ok(stored);
            }
            match self.route_once(message, policy).await {
                Err(PortError::Conflict(reason)) => last_conflict = reason,
                other => return other,
            }
            // Another router won the race: let it finish before reading again.
            let jitter = rand::random_range(0..10 * u64::from(attempt));
            tokio::time::sleep(std::time::Duration::from_millis(5 + jitter)).await;
        }
        if let Some(stored) = self.stored_source(message).await? {
            return Ok(stored);
        }
        Err(PortError::Conflict(last_conflict))
    }

    async fn set_reachability(
        &self,
        identity: &Identity,
        channel: Channel,
        reachability: Reachability,
        at: DateTime<Utc>,
    ) -> PortResult<Option<ContactId>> {
        for _ in 0..ATTEMPTS {
            let Some(holder) = self.holder_of(&identity.key()).await? else {
                return Ok(None);
            };
            let Some(item) = self.get(&keys::contact(holder), keys::META).await? else {
                return Ok(None);
            };
            let stored = StoredContact::read(item)?;
            let mut next = stored.clone();
            let Some(kind) = next.contact.set_reachability(channel, reachability, at) else {
                return Ok(Some(holder));
            };
            let (condition, version) = items::contact_condition(stored.version);
            let mut writes = vec![put_with(
                self,
                next.next_item()?,
                &condition,
                &[(":v", version)],
            )?];
            if let Some(conversation) = stored.latest_conversation {
                let event = Event::new(conversation, kind, None, at);
                writes.push(put(
                    self,
                    items::timeline(conversation, &TimelineItem::Event(event))?,
                    None,
                )?);
            }
            match self.transact(writes).await {
                Ok(()) => return Ok(Some(holder)),
                Err(PortError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PortError::Conflict(format!(
            "the contact holding {} kept changing",
            identity.key()
        )))
    }

    async fn prove_identity(
        &self,
        proof: &crate::ports::PendingProof,
        at: DateTime<Utc>,
    ) -> PortResult<Option<ContactId>> {
        self.prove(proof, at).await
    }
}

/// What routing read, kept for the conditions of the write.
struct Read {
    ctx: RouteContext,
    /// Each presented identity's `#HEAD` version (0: never written).
    heads: Vec<(String, u64)>,
    contacts: HashMap<ContactId, StoredContact>,
}

impl DynamoStore {
    async fn stored_source(&self, message: &InboundMessage) -> PortResult<Option<RouteOutcome>> {
        let source = keys::source(message.source_id.as_str());
        let erased = keys::erased_source(&source_digest(&message.source_id));
        let (marker, tombstone) =
            futures::future::try_join(self.get(&source, keys::META), self.get(&erased, keys::META))
                .await?;
        if let Some(item) = marker {
            return Ok(Some(RouteOutcome::Duplicate {
                message_id: items::parsed(&item, "target")?,
            }));
        }
        // The table's TTL removes an expired one late: it no longer counts.
        let now = Utc::now().timestamp();
        Ok(tombstone
            .filter(|item| items::number(item, "expires_at").is_some_and(|at| at as i64 > now))
            .map(|_| RouteOutcome::Erased))
    }

    async fn route_once(
        &self,
        message: &InboundMessage,
        policy: &RoutePolicy,
    ) -> PortResult<RouteOutcome> {
        let now = Utc::now();
        let mut read = self.read_context(message).await?;
        if policy.rules.reads_contact() {
            for id in read.ctx.candidate_contacts() {
                let profile = match read.contacts.get(&id) {
                    Some(stored) => Some(stored.contact.profile()),
                    // The hinted conversation's contact, when no identity named it.
                    None => self
                        .get(&keys::contact(id), keys::META)
                        .await?
                        .map(StoredContact::read)
                        .transpose()?
                        .map(|stored| stored.contact.profile()),
                };
                read.ctx.profiles.extend(profile.map(|p| (id, p)));
            }
        }
        let mut plan = policy.plan(message, &read.ctx, now).map_err(|e| match e {
            RouteError::UnknownThread => PortError::Unavailable(e.to_string()),
            RouteError::NoSender => PortError::Invalid(e.to_string()),
        })?;
        let mut rr_write = None;
        if let Some(need) = plan.assign_within.take() {
            let team = need.team;
            let (candidates, mode) = self.agent_loads(&need).await?;
            let language = language_among(&candidates, &plan.message.text);
            let last = self
                .get(&keys::round_robin(team), keys::META)
                .await?
                .and_then(|item| items::string(&item, "target"))
                .and_then(|id| id.parse::<AgentId>().ok());
            let chosen = choose_assignee(&candidates, last, language.as_deref(), mode);
            if let Some(agent) = chosen {
                rr_write = Some(items::pointer(keys::round_robin(team), agent.to_string()));
            }
            plan.assign(chosen, now);
        }
        if let ContactChange::Update { id, .. } = &plan.contact
            && !read.contacts.contains_key(id)
        {
            let stored = self
                .get(&keys::contact(*id), keys::META)
                .await?
                .ok_or_else(|| PortError::Conflict(format!("contact {id} is gone")))?;
            read.contacts.insert(*id, StoredContact::read(stored)?);
        }
        let writes = self.plan_writes(&plan, &read, now)?;
        self.transact(writes).await?;
        // Whom the team's rotation reached is only fairness: written after the
        // message, outside the transaction, at half its price there. Lost, the next
        // choice starts the rotation from an earlier agent.
        if let Some(item) = rr_write
            && let Err(e) = self.put(item, None).await
        {
            tracing::warn!(error = %e, "the round-robin position was not saved");
        }
        let mut contact_id = match &plan.contact {
            ContactChange::Create(c) => c.id,
            ContactChange::Update { id, .. } => *id,
        };
        if let Some(survivor) = plan.merge_into
            && survivor != contact_id
        {
            // The message is stored; the fold follows in repeatable steps. Should it
            // stop half-way, the contacts stay apart with a suggestion to merge them.
            match self.merge(survivor, contact_id, None, now).await {
                Ok(_) => {
                    tracing::info!(%survivor, absorbed = %contact_id, "contacts linked by a proven identity");
                    contact_id = survivor;
                }
                Err(e) => {
                    tracing::error!(%survivor, absorbed = %contact_id, error = %e, "linking contacts failed; left as a merge suggestion");
                }
            }
        }
        Ok(RouteOutcome::Stored {
            message_id: plan.message.id,
            conversation_id: plan.conversation_id(),
            contact_id,
            new_conversation: matches!(plan.conversation, ConversationChange::Create(_)),
            auto_replies: plan.auto_replies.clone(),
        })
    }

    async fn read_context(&self, message: &InboundMessage) -> PortResult<Read> {
        let mut ctx = RouteContext::default();
        let mut heads = Vec::new();
        for presented in &message.identities {
            let key = presented.identity.key();
            let mut owners: Vec<(IdentityOwner, u64)> = Vec::new();
            let mut head = 0;
            for item in self.partition(&keys::identity(&key)).await? {
                match items::string(&item, "sk").as_deref() {
                    Some(keys::HEAD) => head = items::number(&item, "v").unwrap_or(0),
                    Some(sk) if sk.starts_with("CT#") => {
                        let owner = IdentityOwner {
                            contact_id: items::contact_id_of(&item)?,
                            proven: items::flag(&item, "proven"),
                            typed: items::flag(&item, "typed"),
                        };
                        owners.push((owner, items::number(&item, "added_at").unwrap_or(0)));
                    }
                    _ => {}
                }
            }
            owners.sort_by_key(|(owner, added)| {
                std::cmp::Reverse((owner.proven, !owner.typed, *added))
            });
            ctx.owners
                .push(owners_read(owners.into_iter().map(|(o, _)| o)));
            if !heads.iter().any(|(k, _)| k == &key) {
                heads.push((key, head));
            }
        }
        let hinted = match &message.thread {
            ThreadHint::None => None,
            ThreadHint::Conversation { id } => Some(*id),
            ThreadHint::CustomerLink { link_hash } => self
                .get(&keys::link(link_hash), keys::META)
                .await?
                .and_then(|item| items::string(&item, "target"))
                .and_then(|id| id.parse().ok()),
        };
        if let Some(id) = hinted {
            ctx.hinted = self.read_conversation(id).await?;
        }
        if let Some(reference) = &message.reply_to {
            ctx.reply_to = self.message_by_reference(reference).await?;
        }
        if let Some(reference) = &message.edit_of {
            ctx.edit_of = self.message_by_reference(reference).await?;
        }
        let mut contacts = HashMap::new();
        for id in ctx.owner_contacts() {
            let Some(item) = self.get(&keys::contact(id), keys::META).await? else {
                // An identity item outlived its contact only inside a merge in progress.
                return Err(PortError::Conflict(format!("contact {id} is being merged")));
            };
            let stored = StoredContact::read(item)?;
            if let Some(latest) = stored.latest_conversation
                && let Some(c) = self.read_conversation(latest).await?
            {
                ctx.latest.push(c);
            }
            contacts.insert(id, stored);
        }
        Ok(Read {
            ctx,
            heads,
            contacts,
        })
    }

    /// The stored message a source id names: an inbound message by its source id, or a
    /// reply of ours by the provider's id for it.
    async fn message_by_reference(&self, reference: &SourceId) -> PortResult<Option<MessageId>> {
        for pk in [
            keys::source(reference.as_str()),
            keys::provider(reference.as_str()),
        ] {
            if let Some(item) = self.get(&pk, keys::META).await? {
                return items::parsed(&item, "target").map(Some);
            }
        }
        Ok(None)
    }

    /// The contact an identity belongs to: its proven holder, else its latest one that
    /// the channel reported (never one that only had it typed in).
    async fn holder_of(&self, key: &str) -> PortResult<Option<ContactId>> {
        let mut owners: Vec<(bool, u64, ContactId)> = Vec::new();
        for item in self.partition(&keys::identity(key)).await? {
            if items::string(&item, "sk").is_some_and(|sk| sk.starts_with("CT#"))
                && !items::flag(&item, "typed")
            {
                let proven = items::flag(&item, "proven");
                let added = items::number(&item, "added_at").unwrap_or(0);
                owners.push((proven, added, items::contact_id_of(&item)?));
            }
        }
        Ok(owners
            .into_iter()
            .max_by_key(|(p, a, _)| (*p, *a))
            .map(|(_, _, c)| c))
    }

    pub(super) async fn read_conversation(
        &self,
        id: crate::model::ConversationId,
    ) -> PortResult<Option<Conversation>> {
        self.get(&keys::conversation(id), keys::META)
            .await?
            .map(items::from_item)
            .transpose()
    }

    /// Every agent who may take conversations of `team`, counted as
    /// [`AgentLoad::count_to`] says.
    /// The agents who may take a conversation `need` describes, counted as far as the
    /// way its team assigns needs.
    pub(super) async fn agent_loads(
        &self,
        need: &AssignNeed,
    ) -> PortResult<(Vec<AgentLoad>, Assignment)> {
        let mode = match need.team {
            Some(team) => crate::ports::TeamStore::team(self, team)
                .await?
                .map(|t| t.assignment)
                .unwrap_or_default(),
            None => Assignment::default(),
        };
        let mut loads = Vec::new();
        for item in self.index_partition("gsi1", keys::AGENTS).await? {
            let agent: crate::model::Agent = items::from_item(item)?;
            let Some(mut load) = AgentLoad::of(&agent, need) else {
                continue;
            };
            if let Some(cap) = load.count_to(mode) {
                load.open_conversations = self.count_unresolved(agent.id, cap).await?;
            }
            loads.push(load);
        }
        Ok((loads, mode))
    }

    async fn count_unresolved(&self, agent: AgentId, cap: u32) -> PortResult<u32> {
        let mut count = 0;
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi2")
                .key_condition_expression("gsi2pk = :pk")
                .expression_attribute_values(":pk", s(keys::assignee(Some(agent), false)))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .limit(i32::try_from(cap.saturating_sub(count).max(1)).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| super::errors::sdk("dynamodb:Query", e))?;
            count += u32::try_from(out.count).unwrap_or(0);
            start = out.last_evaluated_key;
            if start.is_none() || count >= cap {
                return Ok(count.min(cap));
            }
        }
    }

    fn plan_writes(
        &self,
        plan: &RoutePlan,
        read: &Read,
        now: DateTime<Utc>,
    ) -> PortResult<Vec<TransactWriteItem>> {
        let conversation_id = plan.conversation_id();
        let mut writes = vec![put(
            self,
            items::pointer(
                keys::source(
                    plan.message
                        .source_id
                        .as_ref()
                        .map(|id| id.as_str())
                        .unwrap_or_default(),
                ),
                plan.message.id.to_string(),
            ),
            Some("attribute_not_exists(pk)"),
        )?];

        // The contact, on the version read; it carries its latest conversation.
        let new_conversation = matches!(plan.conversation, ConversationChange::Create(_));
        let (contact, added): (StoredContact, Vec<ContactIdentity>) = match &plan.contact {
            ContactChange::Create(c) => (
                StoredContact {
                    contact: c.clone(),
                    version: 0,
                    latest_conversation: None,
                },
                c.identities.clone(),
            ),
            ContactChange::Update {
                id,
                name,
                add_identities,
                prove,
                suggestions,
            } => {
                let mut stored = read
                    .contacts
                    .get(id)
                    .cloned()
                    .ok_or_else(|| PortError::Conflict(format!("contact {id} was not read")))?;
                let c = &mut stored.contact;
                if c.name.is_none() {
                    c.name.clone_from(name);
                }
                c.identities.extend(add_identities.iter().cloned());
                for identity in prove {
                    for held in c.identities.iter_mut().filter(|h| &h.identity == identity) {
                        held.proven = true;
                        held.typed = false;
                    }
                }
                crate::model::add_merge_suggestions(&mut c.merge_suggestions, suggestions);
                c.updated_at = now;
                (stored, add_identities.clone())
            }
        };
        let contact_id = contact.contact.id;
        let mut next = contact.clone();
        if new_conversation {
            next.latest_conversation = Some(conversation_id);
        }
        let (condition, version) = items::contact_condition(contact.version);
        writes.push(put_with(
            self,
            next.next_item()?,
            &condition,
            &[(":v", version)],
        )?);

        // Who holds each identity changes only on the `#HEAD` version that was read.
        let proven_now: Vec<String> = match &plan.contact {
            ContactChange::Create(c) => c
                .identities
                .iter()
                .filter(|i| i.proven)
                .map(|i| i.identity.key())
                .collect(),
            ContactChange::Update {
                add_identities,
                prove,
                ..
            } => add_identities
                .iter()
                .filter(|i| i.proven)
                .map(|i| i.identity.key())
                .chain(prove.iter().map(|i| i.key()))
                .collect(),
        };
        let mut proven_now = proven_now;
        proven_now.sort();
        proven_now.dedup();
        let changed: Vec<String> = added
            .iter()
            .map(|i| i.identity.key())
            .chain(proven_now.iter().cloned())
            .collect();
        for (key, head) in &read.heads {
            writes.push(head_write(self, key, *head, changed.contains(key))?);
        }
        for identity in &added {
            let key = identity.identity.key();
            let mut item = items::owner(&key, contact_id, identity.proven, identity.typed);
            item.insert("added_at".into(), n(identity.added_at.timestamp_millis()));
            writes.push(put(self, item, None)?);
        }
        if let ContactChange::Update { prove, .. } = &plan.contact {
            for identity in prove {
                let key = identity.key();
                let update = Update::builder()
                    .table_name(&self.table)
                    .key("pk", s(keys::identity(&key)))
                    .key("sk", s(keys::contact(contact_id)))
                    .update_expression("SET proven = :t REMOVE typed")
                    .expression_attribute_values(
                        ":t",
                        aws_sdk_dynamodb::types::AttributeValue::Bool(true),
                    )
                    .build()
                    .map_err(build_error)?;
                writes.push(TransactWriteItem::builder().update(update).build());
            }
        }
        for key in proven_now {
            let mut item = items::pointer(keys::identity(&key), contact_id.to_string());
            item.insert("sk".into(), s(keys::PROVEN));
            item.insert("contact_id".into(), s(contact_id.to_string()));
            writes.push(put_with(
                self,
                item,
                "attribute_not_exists(pk) OR contact_id = :c",
                &[(":c", s(contact_id.to_string()))],
            )?);
        }

        // The conversation, on its version.
        match &plan.conversation {
            ConversationChange::Create(c) => {
                let first = Conversation {
                    version: 1,
                    ..c.clone()
                };
                writes.push(put(
                    self,
                    items::conversation(&first)?,
                    Some("attribute_not_exists(pk)"),
                )?);
            }
            ConversationChange::Update {
                conversation,
                expected_version,
            } => {
                let next = Conversation {
                    version: expected_version + 1,
                    ..conversation.clone()
                };
                writes.push(put_with(
                    self,
                    items::conversation(&next)?,
                    "version = :expected",
                    &[(":expected", n(*expected_version))],
                )?);
            }
        }
        writes.push(put(
            self,
            items::timeline(
                conversation_id,
                &TimelineItem::Message(plan.message.clone()),
            )?,
            None,
        )?);
        writes.push(put(self, items::message_pointer(&plan.message), None)?);
        for event in &plan.events {
            writes.push(put(
                self,
                items::timeline(event.conversation_id, &TimelineItem::Event(event.clone()))?,
                None,
            )?);
        }
        if let Some(link) = &plan.link_hash {
            writes.push(put(
                self,
                items::pointer(keys::link(link), conversation_id.to_string()),
                None,
            )?);
            // And from the conversation back to its link, for an erasure to find.
            let back = Item::from([
                ("pk".to_owned(), s(keys::conversation(conversation_id))),
                ("sk".to_owned(), s(keys::link(link))),
            ]);
            writes.push(put(self, back, None)?);
        }
        // The other side of each suggestion, on the version of that contact that was read.
        let mut mirrored: Vec<ContactId> = plan
            .mirrored_suggestions
            .iter()
            .map(|(other, _)| *other)
            .filter(|other| *other != contact_id)
            .collect();
        mirrored.sort();
        mirrored.dedup();
        for other in mirrored {
            let mut stored = read
                .contacts
                .get(&other)
                .cloned()
                .ok_or_else(|| PortError::Conflict(format!("contact {other} was not read")))?;
            let new: Vec<MergeSuggestion> = plan
                .mirrored_suggestions
                .iter()
                .filter(|(o, _)| *o == other)
                .map(|(_, suggestion)| suggestion.clone())
                .collect();
            crate::model::add_merge_suggestions(&mut stored.contact.merge_suggestions, &new);
            let (condition, version) = items::contact_condition(stored.version);
            writes.push(put_with(
                self,
                stored.next_item()?,
                &condition,
                &[(":v", version)],
            )?);
        }
        Ok(writes)
    }
}

/// Checks (or, when `bump`, advances) an identity's `#HEAD` at the version read.
pub(super) fn head_write(
    store: &DynamoStore,
    key: &str,
    read: u64,
    bump: bool,
) -> PortResult<TransactWriteItem> {
    let condition = if read == 0 {
        "attribute_not_exists(pk)"
    } else {
        "v = :v"
    };
    let pk = s(keys::identity(key));
    let sk = s(keys::HEAD);
    if bump {
        let mut update = Update::builder()
            .table_name(&store.table)
            .key("pk", pk)
            .key("sk", sk)
            .update_expression("SET v = :next")
            .condition_expression(condition)
            .expression_attribute_values(":next", n(read + 1));
        if read != 0 {
            update = update.expression_attribute_values(":v", n(read));
        }
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(build_error)?)
            .build())
    } else {
        let mut check = ConditionCheck::builder()
            .table_name(&store.table)
            .key("pk", pk)
            .key("sk", sk)
            .condition_expression(condition);
        if read != 0 {
            check = check.expression_attribute_values(":v", n(read));
        }
        Ok(TransactWriteItem::builder()
            .condition_check(check.build().map_err(build_error)?)
            .build())
    }
}

pub(super) fn put(
    store: &DynamoStore,
    item: Item,
    condition: Option<&str>,
) -> PortResult<TransactWriteItem> {
    let put = Put::builder()
        .table_name(&store.table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

pub(super) fn put_with(
    store: &DynamoStore,
    item: Item,
    condition: &str,
    values: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
) -> PortResult<TransactWriteItem> {
    let mut put = Put::builder()
        .table_name(&store.table)
        .set_item(Some(item))
        .condition_expression(condition);
    for (name, value) in values {
        if condition.contains(name) {
            put = put.expression_attribute_values(*name, value.clone());
        }
    }
    Ok(TransactWriteItem::builder()
        .put(put.build().map_err(build_error)?)
        .build())
}

pub(super) fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> PortError {
    PortError::Internal(format!("building a request: {e}"))
}
