//! Model values to table items and back: the struct's fields as native attributes, plus
//! the keys that place it.

use super::{Item, keys, n, s};
use crate::model::{
    Agent, AgentId, Contact, ContactId, Conversation, ConversationId, ConversationStatus, Team,
    TimelineItem,
};
use crate::ports::{PortError, PortResult};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub fn to_item<T: Serialize>(value: &T) -> PortResult<Item> {
    serde_dynamo::to_item(value).map_err(|e| PortError::Internal(format!("encoding an item: {e}")))
}

pub fn to_value<T: Serialize>(value: &T) -> PortResult<AttributeValue> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| PortError::Internal(format!("encoding an attribute: {e}")))
}

pub fn from_item<T: DeserializeOwned>(item: Item) -> PortResult<T> {
    serde_dynamo::from_item(item)
        .map_err(|e| PortError::Internal(format!("an unreadable item in the table: {e}")))
}

pub fn string(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    }
}

pub fn number(item: &Item, name: &str) -> Option<u64> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().ok(),
        _ => None,
    }
}

pub fn parsed<T: std::str::FromStr>(item: &Item, name: &str) -> PortResult<T> {
    string(item, name)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| PortError::Internal(format!("an item without a valid `{name}`")))
}

fn with_keys(mut item: Item, keys: &[(&str, String)]) -> Item {
    for (name, value) in keys {
        item.insert((*name).to_owned(), s(value.clone()));
    }
    item
}

/// The sort key every conversation index orders by: newest activity first.
pub fn conversation_order(c: &Conversation) -> String {
    keys::by_time(c.updated_at, &c.id)
}

pub fn conversation(c: &Conversation) -> PortResult<Item> {
    let order = conversation_order(c);
    let resolved = c.status == ConversationStatus::Resolved;
    Ok(with_keys(
        to_item(c)?,
        &[
            ("pk", keys::conversation(c.id)),
            ("sk", keys::META.to_owned()),
            ("gsi1pk", keys::status(c.status)),
            ("gsi1sk", order.clone()),
            ("gsi2pk", keys::assignee(c.assignee_id, resolved)),
            ("gsi2sk", order.clone()),
            ("gsi3pk", keys::contact_conversations(c.contact_id)),
            ("gsi3sk", order),
        ],
    ))
}

/// A contact with its version and its latest conversation.
#[derive(Clone, Debug)]
pub struct StoredContact {
    pub contact: Contact,
    pub version: u64,
    pub latest_conversation: Option<ConversationId>,
}

impl StoredContact {
    pub fn read(item: Item) -> PortResult<Self> {
        let version = number(&item, "v").unwrap_or(0);
        let latest_conversation = string(&item, "latest_cv").and_then(|v| v.parse().ok());
        Ok(Self {
            contact: from_item(item)?,
            version,
            latest_conversation,
        })
    }

    /// The item to write: the next version of this contact.
    pub fn next_item(&self) -> PortResult<Item> {
        let c = &self.contact;
        let mut item = with_keys(
            to_item(c)?,
            &[
                ("pk", keys::contact(c.id)),
                ("sk", keys::META.to_owned()),
                ("gsi1pk", keys::CONTACTS.to_owned()),
                ("gsi1sk", keys::by_time(c.created_at, &c.id)),
            ],
        );
        if let Some(name) = c.name.as_deref()
            && let Some(partition) = keys::name_partition(name)
        {
            item.insert("gsi2pk".into(), s(partition));
            item.insert(
                "gsi2sk".into(),
                s(format!("{}#{}", name.trim().to_lowercase(), c.id)),
            );
        }
        item.insert("v".into(), n(self.version + 1));
        if let Some(latest) = self.latest_conversation {
            item.insert("latest_cv".into(), s(latest.to_string()));
        }
        Ok(item)
    }
}

/// The condition that the contact is still at the version it was read at.
pub fn contact_condition(version: u64) -> (String, AttributeValue) {
    if version == 0 {
        ("attribute_not_exists(pk)".into(), n(0))
    } else {
        ("v = :v".into(), n(version))
    }
}

pub fn timeline(conversation: ConversationId, entry: &TimelineItem) -> PortResult<Item> {
    let ulid = match entry {
        TimelineItem::Message(m) => m.id.ulid(),
        TimelineItem::Note(note) => note.id.ulid(),
        TimelineItem::Event(e) => e.id.ulid(),
    };
    Ok(with_keys(
        to_item(entry)?,
        &[
            ("pk", keys::conversation(conversation)),
            ("sk", keys::timeline(ulid)),
        ],
    ))
}

/// Where a message lives: its conversation's partition and its timeline key.
pub fn message_pointer(m: &crate::model::Message) -> Item {
    with_keys(
        Item::new(),
        &[
            ("pk", keys::message(m.id)),
            ("sk", keys::META.to_owned()),
            ("conversation_id", m.conversation_id.to_string()),
            ("timeline_sk", keys::timeline(m.id.ulid())),
        ],
    )
}

pub fn agent(a: &Agent) -> PortResult<Item> {
    Ok(with_keys(
        to_item(a)?,
        &[
            ("pk", keys::agent(a.id)),
            ("sk", keys::META.to_owned()),
            ("gsi1pk", keys::AGENTS.to_owned()),
            ("gsi1sk", a.id.to_string()),
        ],
    ))
}

pub fn team(t: &Team) -> PortResult<Item> {
    Ok(with_keys(
        to_item(t)?,
        &[
            ("pk", keys::team(t.id)),
            ("sk", keys::META.to_owned()),
            ("gsi1pk", keys::TEAMS.to_owned()),
            ("gsi1sk", format!("{}#{}", t.name.to_lowercase(), t.id)),
        ],
    ))
}

/// Beside an agent: which key is theirs now (`target`: its hash).
pub fn current_key(agent: AgentId, key_hash: &str) -> Item {
    with_keys(
        Item::new(),
        &[
            ("pk", keys::agent(agent)),
            ("sk", keys::CURRENT_KEY.to_owned()),
            ("target", key_hash.to_owned()),
        ],
    )
}

/// A pointer item: `pk` → one id, kept under `target`.
pub fn pointer(pk: String, target: String) -> Item {
    with_keys(
        Item::new(),
        &[
            ("pk", pk),
            ("sk", keys::META.to_owned()),
            ("target", target),
        ],
    )
}

/// The identity-owner item: `contact` holds `key`, proven, reported or only typed.
pub fn owner(key: &str, contact: ContactId, proven: bool, typed: bool) -> Item {
    let mut item = with_keys(
        Item::new(),
        &[
            ("pk", keys::identity(key)),
            ("sk", keys::contact(contact)),
            ("contact_id", contact.to_string()),
        ],
    );
    item.insert("proven".into(), AttributeValue::Bool(proven));
    if typed && !proven {
        item.insert("typed".into(), AttributeValue::Bool(true));
    }
    item
}

/// Whether an item's boolean attribute is set.
pub fn flag(item: &Item, name: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::Bool(true)))
}

pub fn contact_id_of(item: &Item) -> PortResult<ContactId> {
    parsed(item, "contact_id")
}
