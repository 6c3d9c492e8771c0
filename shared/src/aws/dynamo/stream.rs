//! The event log on DynamoDB is the table's own change stream: every write of a
//! timeline item, a contact, an erasure tombstone or an incident is in it, in order per item, in the
//! same commit as the change. This reads its records (as Lambda and the Streams API
//! give them) into log entries; `feed` keeps those for readers.

use super::keys;
use crate::model::{Author, Change, ChangeType, ContactId, Direction, Erasure, TimelineItem};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The attribute a fold writes on the timeline items it moves: they are not new.
pub const MOVED: &str = "moved";

/// A batch of stream records: the event Lambda gets.
#[derive(Clone, Debug, Deserialize)]
pub struct StreamBatch {
    #[serde(rename = "Records")]
    pub records: Vec<StreamRecord>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// `INSERT`, `MODIFY` or `REMOVE`.
    #[serde(rename = "eventName")]
    pub event_name: String,
    pub dynamodb: StreamChange,
}

#[derive(Clone, Debug, Deserialize)]
pub struct StreamChange {
    #[serde(rename = "NewImage", default)]
    pub new_image: Option<serde_dynamo::Item>,
    #[serde(rename = "OldImage", default)]
    pub old_image: Option<serde_dynamo::Item>,
    #[serde(rename = "SequenceNumber")]
    pub sequence_number: String,
    /// Seconds since the epoch.
    #[serde(rename = "ApproximateCreationDateTime", default)]
    pub approximate_creation: Option<f64>,
}

#[derive(Deserialize)]
struct Keys {
    pk: String,
    sk: String,
    #[serde(default)]
    moved: Option<bool>,
}

/// The log entry a record makes, if any (its `cursor` is empty: the feed sets it).
/// Writes that change nothing a reader follows (a conversation's counters, an item
/// moved by a fold, a removal) make none.
pub fn change_of(record: &StreamRecord) -> Option<Change> {
    let image = record.dynamodb.new_image.clone()?;
    let keys: Keys = serde_dynamo::from_item(image.clone()).ok()?;
    let entry = |kind, at| Change::new(record.event_id.clone(), kind, at);
    match record.event_name.as_str() {
        "INSERT" if keys.sk.starts_with(keys::TIMELINE) && keys.moved != Some(true) => {
            let item: TimelineItem = match serde_dynamo::from_item(image) {
                Ok(item) => item,
                Err(e) => {
                    tracing::warn!(error = %e, sk = %keys.sk, "a timeline item the log cannot read");
                    return None;
                }
            };
            Some(match item {
                TimelineItem::Message(m) => {
                    let inbound = m.direction == Direction::Inbound;
                    let kind = match inbound {
                        true => ChangeType::MessageReceived,
                        false => ChangeType::ReplyQueued,
                    };
                    Change {
                        conversation_id: Some(m.conversation_id),
                        contact_id: Some(m.contact_id),
                        message_id: Some(m.id),
                        actor_id: match m.author {
                            Author::Agent { agent_id } => Some(agent_id),
                            _ => None,
                        },
                        ..entry(kind, m.created_at)
                    }
                }
                TimelineItem::Note(n) => Change {
                    conversation_id: Some(n.conversation_id),
                    note_id: Some(n.id),
                    actor_id: Some(n.author_id),
                    ..entry(ChangeType::NoteAdded, n.created_at)
                },
                TimelineItem::Event(e) => {
                    let tag = serde_json::to_value(&e.kind).ok()?;
                    Change {
                        conversation_id: Some(e.conversation_id),
                        event_id: Some(e.id),
                        actor_id: e.actor_id,
                        ..entry(
                            ChangeType::of_event_tag(tag["type"].as_str()?)?,
                            e.created_at,
                        )
                    }
                }
            })
        }
        "MODIFY" if keys.sk.starts_with(keys::TIMELINE) => {
            let old: TimelineItem =
                serde_dynamo::from_item(record.dynamodb.old_image.clone()?).ok()?;
            let (TimelineItem::Message(old), TimelineItem::Message(new)) =
                (old, serde_dynamo::from_item(image).ok()?)
            else {
                return None;
            };
            if new.direction != Direction::Outbound || new.delivery_status == old.delivery_status {
                return None;
            }
            let kind = ChangeType::of_delivery(new.delivery_status)?;
            Some(Change {
                conversation_id: Some(new.conversation_id),
                contact_id: Some(new.contact_id),
                message_id: Some(new.id),
                ..entry(kind, record_time(record))
            })
        }
        "INSERT" if keys.pk.starts_with("CT#") && keys.sk == keys::META => {
            let contact: crate::model::Contact = serde_dynamo::from_item(image).ok()?;
            Some(Change {
                contact_id: Some(contact.id),
                ..entry(ChangeType::ContactCreated, contact.created_at)
            })
        }
        "INSERT" if keys.pk == keys::INCIDENTS => {
            let state = match image.get("state") {
                Some(serde_dynamo::AttributeValue::S(state)) => state.clone(),
                _ => return None,
            };
            if state != crate::model::IncidentState::Proposed.as_str() {
                return None;
            }
            Some(Change {
                incident_id: Some(keys.sk.parse().ok()?),
                ..entry(ChangeType::IncidentProposed, record_time(record))
            })
        }
        "INSERT" if keys.pk == keys::ERASURES => {
            let erasure: Erasure = serde_dynamo::from_item(image).ok()?;
            let contact: ContactId = erasure.contact_id?;
            // Who erased is the admins' to know (`/v1/erasures`), not every agent's.
            Some(Change {
                contact_id: Some(contact),
                ..entry(ChangeType::ContactErased, erasure.erased_at)
            })
        }
        _ => None,
    }
}

/// When the stream took the record (to the second), else now.
fn record_time(record: &StreamRecord) -> DateTime<Utc> {
    record
        .dynamodb
        .approximate_creation
        .and_then(|secs| DateTime::from_timestamp_millis((secs * 1000.0) as i64))
        .unwrap_or_else(Utc::now)
}
