//! Who is calling: a phone number, in any written form, → the contact, their open
//! conversation and its latest messages (for a screen-pop when the phone rings).

use super::directory::Directory;
use super::error::{ServiceError, ServiceResult};
use crate::model::{
    Contact, Conversation, ConversationStatus, Identity, Message, PhoneNumber, TimelineItem,
};
use crate::ports::PageRequest;

/// Messages shown with a caller.
pub const RECENT_MESSAGES: usize = 10;

/// Timeline pages read to find the latest messages (oldest first, up to 100 each).
const MAX_TIMELINE_PAGES: usize = 5;

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

    async fn recent_messages(&self, conversation: &Conversation) -> ServiceResult<Vec<Message>> {
        let mut messages = Vec::new();
        let mut page = PageRequest::first(100);
        for _ in 0..MAX_TIMELINE_PAGES {
            let items = self.conversations.timeline(conversation.id, &page).await?;
            messages.extend(items.items.into_iter().filter_map(|item| match item {
                TimelineItem::Message(m) => Some(m),
                _ => None,
            }));
            let keep_from = messages.len().saturating_sub(RECENT_MESSAGES);
            messages.drain(..keep_from);
            match items.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => break,
            }
        }
        Ok(messages)
    }
}
