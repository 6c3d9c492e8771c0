//! Who is calling: a phone number, in any written form, → the contact, their open
//! conversation and its latest messages (for a screen-pop when the phone rings).

use super::directory::Directory;
use super::error::{ServiceError, ServiceResult};
use crate::model::{Contact, Conversation, ConversationStatus, Identity, Message, PhoneNumber};
use crate::ports::PageRequest;

/// Messages shown with a caller.
pub const RECENT_MESSAGES: usize = 10;

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CallerLookup {
    pub contact: Contact,
    /// Their open (or pending) conversation, else their latest one.
    pub conversation: Option<Conversation>,
    /// The conversation's latest messages, oldest first.
    pub recent_messages: Vec<Message>,
}

impl Directory {
    pub async fn lookup_phone(&self, phone: &PhoneNumber) -> ServiceResult<CallerLookup> {
        let wanted = Identity::phone(phone);
        let found = self
            .contacts
            .search_contacts(phone.as_str(), &PageRequest::first(20))
            .await?;
        let contact = found
            .items
            .into_iter()
            .find(|c| c.identities.iter().any(|i| i.identity == wanted))
            .ok_or(ServiceError::NotFound("contact"))?;
        let details = self.contact(contact.id).await?;
        let conversation = details
            .conversations
            .iter()
            .find(|c| {
                matches!(
                    c.status,
                    ConversationStatus::Open | ConversationStatus::Pending
                )
            })
            .or(details.conversations.first())
            .cloned();
        let recent_messages = match &conversation {
            Some(c) => self.recent_messages(c).await?,
            None => Vec::new(),
        };
        Ok(CallerLookup {
            contact: details.contact,
            conversation,
            recent_messages,
        })
    }

    /// The latest messages, oldest first, read newest first from the store (which looks
    /// at most [`crate::ports::LATEST_SCAN_ITEMS`] timeline items back).
    async fn recent_messages(&self, conversation: &Conversation) -> ServiceResult<Vec<Message>> {
        let mut messages = self
            .conversations
            .latest_messages(conversation.id, RECENT_MESSAGES)
            .await?;
        messages.reverse();
        Ok(messages)
    }
}
