//! What a delivery carries: `{type, timestamp, data}` as Standard Webhooks suggests,
//! `data` holding the log entry and the conversation, contact and message it names, as
//! the agent API shows them when the delivery is made (and the incident it names). What was erased since is absent;
//! a ping names nothing.

use crate::model::{Change, Contact, Conversation, Incident, Message};
use crate::ports::{ContactStore, ConversationStore, IncidentStore, MessageStore, PortResult};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub timestamp: DateTime<Utc>,
    pub data: ChangeData<'a>,
}

#[derive(Debug, Serialize)]
pub struct ChangeData<'a> {
    pub change: &'a Change,
    pub conversation: Option<Conversation>,
    pub contact: Option<Contact>,
    pub message: Option<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<Incident>,
}

/// Reads what a payload shows.
#[derive(Clone)]
pub struct PayloadReader {
    pub conversations: Arc<dyn ConversationStore>,
    pub contacts: Arc<dyn ContactStore>,
    pub messages: Arc<dyn MessageStore>,
    pub incidents: Arc<dyn IncidentStore>,
}

impl PayloadReader {
    pub async fn body(&self, change: &Change) -> PortResult<Vec<u8>> {
        let conversation = match change.conversation_id {
            Some(id) => self.conversations.conversation(id).await?,
            None => None,
        };
        let contact_id = change
            .contact_id
            .or(conversation.as_ref().map(|c| c.contact_id));
        let contact = match contact_id {
            Some(id) => self.contacts.contact(id).await?,
            None => None,
        };
        let message = match change.message_id {
            Some(id) => self.messages.message(id).await?,
            None => None,
        };
        let incident = match change.incident_id {
            Some(id) => self.incidents.incident(id).await?,
            None => None,
        };
        let payload = Payload {
            kind: change.kind.as_str(),
            timestamp: change.at,
            data: ChangeData {
                change,
                conversation,
                contact,
                message,
                incident,
            },
        };
        Ok(serde_json::to_vec(&payload).unwrap_or_default())
    }
}
