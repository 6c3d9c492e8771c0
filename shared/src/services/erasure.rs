//! What erasing a customer's data removes, decided from what the store read.
//!
//! The store reads everything it holds on a contact or a conversation (the
//! [`ContactHoldings`] and [`ConversationHoldings`]); [`plan_contact_erasure`] and
//! [`plan_retention`] decide, as pure functions, every row, item, pointer and file to
//! remove ([`ErasurePlan`]); the service deletes the files, and each store applies the
//! rest on the versions that were read, so SQLite and DynamoDB erase the same things.
//!
//! Exactly once after an erasure: the marker that stored a message once (its source id)
//! goes with it, so a redelivery of the old message could be stored again and bring back
//! what was erased. The plan keeps instead the SHA-256 of each erased source id, apart
//! from anything else, for [`ERASED_SOURCES_KEPT`]: long enough for every redelivery a
//! platform or a queue makes (SQS keeps a message and its dead letter 14 days each,
//! Telegram retries a day), after which it expires. A digest names no one; the source
//! id it stands for (a Telegram chat id, say) would.

use crate::channels::pbx::call::record_key_of;
use crate::channels::twilio::voice::outcome_key_of;
use crate::model::{
    AgentId, Channel, Contact, ContactId, Conversation, ConversationId, ConversationStatus,
    Erasure, ErasureId, ErasureReason, EventId, Identity, MessageId, NoteId, SourceId,
    TimelineItem,
};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use sha2::{Digest, Sha256};

/// How long the digest of an erased message's source id keeps a redelivery out.
pub const ERASED_SOURCES_KEPT: Duration = Duration::days(30);

/// The digest an erased source id is remembered by: SHA-256, hex.
pub fn source_digest(source: &SourceId) -> String {
    hex::encode(Sha256::digest(source.as_str().as_bytes()))
}

/// Everything stored under one conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct ConversationHoldings {
    /// As read, with its version.
    pub conversation: Conversation,
    /// Its messages, notes and events, oldest first.
    pub items: Vec<TimelineItem>,
    /// The ids providers gave our replies in it (what a provider's report names them by).
    pub provider_ids: Vec<String>,
    /// The customer-page links bound to it (SHA-256 of each token, hex).
    pub links: Vec<String>,
}

/// One identity a contact holds, with everyone else who holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct IdentityHolding {
    pub identity: Identity,
    /// Every contact holding it, this one included.
    pub holders: Vec<ContactId>,
    /// The contact the store's proven-holder marker names, where the store keeps one.
    pub proven_marker: Option<ContactId>,
    /// The identity's change counter as read, where the store keeps one (0: none).
    pub head: u64,
}

/// Everything stored on a contact, besides their conversations' contents.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactHoldings {
    pub contact: Contact,
    /// What changes whenever the contact does (its version), as read.
    pub stamp: u64,
    pub identities: Vec<IdentityHolding>,
    /// Every conversation of the contact.
    pub conversations: Vec<ConversationId>,
}

/// One conversation to remove with everything in it and pointing at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationErasure {
    pub id: ConversationId,
    /// Removed only while still at this version: a message that arrived since means
    /// the plan was made on too little.
    pub version: u64,
    pub messages: Vec<MessageId>,
    pub notes: Vec<NoteId>,
    pub events: Vec<EventId>,
    /// The exactly-once markers of its messages.
    pub source_ids: Vec<SourceId>,
    pub provider_ids: Vec<String>,
    pub links: Vec<String>,
}

/// What becomes of one identity the erased contact held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityRelease {
    pub identity: Identity,
    /// The proven-holder marker names the erased contact: remove it.
    pub proven_marker: bool,
    /// The identity's change counter as read, and what becomes of it.
    pub head: HeadChange,
}

/// The change counter of an identity: gone with its last holder, else advanced (the
/// holders changed) on the version read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadChange {
    Remove { read: u64 },
    Advance { read: u64 },
}

/// The contact itself, removed last, while still as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactErasure {
    pub id: ContactId,
    pub stamp: u64,
    pub identities: Vec<IdentityRelease>,
    /// Other contacts whose merge suggestions name this one: the suggestions go.
    pub unsuggest: Vec<ContactId>,
}

/// Everything one erasure removes, and the tombstone it leaves.
#[derive(Clone, Debug, PartialEq)]
pub struct ErasurePlan {
    pub record: Erasure,
    pub conversations: Vec<ConversationErasure>,
    pub contact: Option<ContactErasure>,
    /// Attachments, originals and call records in the file store, deleted first.
    pub files: Vec<String>,
    /// The digests of the erased messages' source ids, kept until `sources_expire_at`.
    pub erased_sources: Vec<String>,
    pub sources_expire_at: DateTime<Utc>,
}

/// How long resolved conversations are kept (`SWITCHBOARD_RETENTION_DAYS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    days: u32,
}

impl Retention {
    /// Longest retention taken: a hundred years.
    pub const MAX_DAYS: u32 = 36_500;

    /// Retention of `days`; none for an empty value (retention off, the default).
    pub fn parse(value: Option<&str>) -> Result<Option<Self>, String> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        match value.parse::<u32>() {
            Ok(days) if (1..=Self::MAX_DAYS).contains(&days) => Ok(Some(Self { days })),
            _ => Err(format!(
                "`{value}` is not a number of days from 1 to {}",
                Self::MAX_DAYS
            )),
        }
    }

    pub fn days(self) -> u32 {
        self.days
    }

    /// Conversations resolved (and last changed) before this are due.
    pub fn cutoff(self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days(i64::from(self.days))
    }
}

/// Erasing a contact at an admin's request: every conversation of theirs, every
/// identity, and the contact.
pub fn plan_contact_erasure(
    contact: &ContactHoldings,
    conversations: &[ConversationHoldings],
    actor: AgentId,
    now: DateTime<Utc>,
) -> ErasurePlan {
    let mut plan = empty_plan(ErasureReason::Request, Some(actor), now);
    for held in conversations {
        add_conversation(&mut plan, held);
    }
    add_contact(&mut plan, contact);
    plan
}

/// Retention's verdict on one conversation: erase it if it was resolved, and last
/// changed, before `cutoff`; its contact goes too when this was their last conversation.
/// `contact` is the conversation's contact as read, if it still exists.
pub fn plan_retention(
    held: &ConversationHoldings,
    contact: Option<&ContactHoldings>,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<ErasurePlan> {
    let c = &held.conversation;
    let resolved_at = c.resolved_at.unwrap_or(c.updated_at);
    let due =
        c.status == ConversationStatus::Resolved && resolved_at < cutoff && c.updated_at < cutoff;
    if !due {
        return None;
    }
    let mut plan = empty_plan(ErasureReason::Retention, None, now);
    add_conversation(&mut plan, held);
    if let Some(contact) = contact
        && contact.contact.id == c.contact_id
        && contact.conversations.iter().all(|id| *id == c.id)
    {
        add_contact(&mut plan, contact);
    }
    Some(plan)
}

fn empty_plan(reason: ErasureReason, actor: Option<AgentId>, now: DateTime<Utc>) -> ErasurePlan {
    ErasurePlan {
        record: Erasure {
            id: ErasureId::new(),
            reason,
            // To the millisecond every store keeps.
            erased_at: now.trunc_subsecs(3),
            actor_id: actor,
            contact_id: None,
            conversations: 0,
            messages: 0,
            notes: 0,
            events: 0,
            files: 0,
        },
        conversations: Vec::new(),
        contact: None,
        files: Vec::new(),
        erased_sources: Vec::new(),
        sources_expire_at: now + ERASED_SOURCES_KEPT,
    }
}

fn add_conversation(plan: &mut ErasurePlan, held: &ConversationHoldings) {
    let mut erasure = ConversationErasure {
        id: held.conversation.id,
        version: held.conversation.version,
        messages: Vec::new(),
        notes: Vec::new(),
        events: Vec::new(),
        source_ids: Vec::new(),
        provider_ids: held.provider_ids.clone(),
        links: held.links.clone(),
    };
    for item in &held.items {
        match item {
            TimelineItem::Message(m) => {
                erasure.messages.push(m.id);
                if let Some(source) = &m.source_id {
                    erasure.source_ids.push(source.clone());
                    plan.erased_sources.push(source_digest(source));
                }
                let files = m
                    .attachments
                    .iter()
                    .filter(|a| a.is_stored())
                    .map(|a| a.blob_key.clone())
                    .chain(m.original.clone());
                plan.files.extend(files);
                if m.channel == Channel::Voice
                    && let Some(source) = &m.source_id
                {
                    plan.files
                        .extend(record_key_of(source).or_else(|| outcome_key_of(source)));
                }
            }
            TimelineItem::Note(n) => erasure.notes.push(n.id),
            TimelineItem::Event(e) => erasure.events.push(e.id),
        }
    }
    erasure.provider_ids.sort();
    erasure.provider_ids.dedup();
    erasure.links.sort();
    erasure.links.dedup();
    plan.files.sort();
    plan.files.dedup();
    plan.erased_sources.sort();
    plan.erased_sources.dedup();
    let record = &mut plan.record;
    record.conversations += 1;
    record.messages += count(erasure.messages.len());
    record.notes += count(erasure.notes.len());
    record.events += count(erasure.events.len());
    record.files = count(plan.files.len());
    plan.conversations.push(erasure);
}

fn add_contact(plan: &mut ErasurePlan, held: &ContactHoldings) {
    let id = held.contact.id;
    let identities = held
        .identities
        .iter()
        .map(|holding| {
            let others = holding.holders.iter().any(|h| *h != id);
            IdentityRelease {
                identity: holding.identity.clone(),
                proven_marker: holding.proven_marker == Some(id),
                head: if others {
                    HeadChange::Advance { read: holding.head }
                } else {
                    HeadChange::Remove { read: holding.head }
                },
            }
        })
        .collect();
    let mut unsuggest: Vec<ContactId> = held
        .contact
        .merge_suggestions
        .iter()
        .map(|s| s.other_contact_id)
        .filter(|other| *other != id)
        .collect();
    unsuggest.sort();
    unsuggest.dedup();
    plan.record.contact_id = Some(id);
    plan.contact = Some(ContactErasure {
        id,
        stamp: held.stamp,
        identities,
        unsuggest,
    });
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[path = "erasure_tests.rs"]
mod tests;
