//! Customers' data rights: everything held on a contact as one document, the contact's
//! whole history across conversations, erasure on request, and retention.
//!
//! An erasure reads what is held, lets `services::erasure` decide, deletes the files
//! first, then has the store remove the rest on the versions it read. A message that
//! arrives meanwhile makes the store refuse; the erasure then reads and decides again,
//! and what was removed stays removed.
//!
//! Retention sweeps rather than letting DynamoDB's TTL expire items: an expiry would
//! remove items one by one, never the files in the bucket, the pointers in other
//! partitions or a contact left with nothing, and every item of a conversation would
//! need its expiry rewritten whenever it is resolved or reopened. The sweep reads due
//! conversations from the index of conversations by status (`ST#resolved`, least
//! recently changed first, below the cutoff): a query, never a scan. TTL does expire
//! what has no ties: the digests of erased source ids.

use super::erasure::{
    ContactHoldings, ConversationHoldings, ErasurePlan, Retention, plan_contact_erasure,
    plan_retention,
};
use super::error::{ServiceError, ServiceResult};
use crate::model::{
    Agent, Contact, ContactId, Conversation, ConversationId, Erasure, TimelineItem,
};
use crate::ports::{BlobStore, ContactStore, ErasureStore, Page, PageRequest, PortError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;

/// Reads and plans of one erasure before it gives up on a contact that keeps changing.
const ATTEMPTS: usize = 5;

/// Due conversations one retention sweep erases at most; the next sweep goes on.
pub const RETENTION_BATCH: u32 = 50;

#[derive(Clone)]
pub struct Rights {
    pub erasure: Arc<dyn ErasureStore>,
    pub contacts: Arc<dyn ContactStore>,
    pub blobs: Arc<dyn BlobStore>,
}

/// Everything held on a contact (`GET /v1/contacts/{id}/export`).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ContactExport {
    pub exported_at: DateTime<Utc>,
    /// The contact with every identity (proven or only typed) and merge suggestion.
    pub contact: Contact,
    /// Every conversation of theirs, oldest first.
    pub conversations: Vec<ExportedConversation>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ExportedConversation {
    #[serde(flatten)]
    pub conversation: Conversation,
    /// Messages in and out, notes and events, oldest first.
    pub timeline: Vec<ExportedItem>,
}

/// A timeline item; a message's files and original are links to download them by.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ExportedItem {
    #[serde(flatten)]
    pub item: TimelineItem,
    /// One per attachment, in order: `/v1/messages/{id}/attachments/{index}`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachment_urls: Vec<String>,
    /// The message as it arrived: `/v1/messages/{id}/original`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_url: Option<String>,
}

impl ExportedItem {
    fn of(item: TimelineItem) -> Self {
        let (attachment_urls, original_url) = match &item {
            TimelineItem::Message(m) => (
                (0..m.attachments.len())
                    .map(|index| format!("/v1/messages/{}/attachments/{index}", m.id))
                    .collect(),
                m.original
                    .as_ref()
                    .map(|_| format!("/v1/messages/{}/original", m.id)),
            ),
            _ => (Vec::new(), None),
        };
        Self {
            item,
            attachment_urls,
            original_url,
        }
    }
}

/// What one retention sweep erased.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub conversations: usize,
    pub contacts: usize,
}

impl Rights {
    /// The service over one store and the files it points at.
    pub fn new<S>(store: Arc<S>, blobs: Arc<dyn BlobStore>) -> Self
    where
        S: ErasureStore + ContactStore + 'static,
    {
        Self {
            erasure: store.clone(),
            contacts: store,
            blobs,
        }
    }

    pub async fn export(&self, id: ContactId) -> ServiceResult<ContactExport> {
        let (contact, conversations) = self.read(id).await?;
        let mut exported: Vec<ExportedConversation> = conversations
            .into_iter()
            .map(|held| ExportedConversation {
                conversation: held.conversation,
                timeline: held.items.into_iter().map(ExportedItem::of).collect(),
            })
            .collect();
        exported.sort_by_key(|c| (c.conversation.created_at, c.conversation.id));
        Ok(ContactExport {
            exported_at: Utc::now(),
            contact: contact.contact,
            conversations: exported,
        })
    }

    /// The contact's history across every conversation and channel, newest first.
    pub async fn timeline(
        &self,
        id: ContactId,
        page: &PageRequest,
    ) -> ServiceResult<Page<TimelineItem>> {
        self.contacts
            .contact(id)
            .await?
            .ok_or(ServiceError::NotFound("contact"))?;
        Ok(self.contacts.contact_timeline(id, page).await?)
    }

    /// Erases the contact and everything of theirs; returns the tombstone left.
    pub async fn erase(&self, id: ContactId, actor: &Agent) -> ServiceResult<Erasure> {
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            let (contact, conversations) = self.read(id).await?;
            let plan = plan_contact_erasure(&contact, &conversations, actor.id, Utc::now());
            match self.apply(&plan).await {
                Ok(()) => {
                    let r = &plan.record;
                    tracing::info!(contact_id = %id, agent_id = %actor.id, erasure_id = %r.id,
                        conversations = r.conversations, messages = r.messages, files = r.files,
                        "contact erased");
                    return Ok(plan.record);
                }
                Err(PortError::Conflict(reason)) => last = reason,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict(format!(
            "the contact kept changing while it was erased ({last}); try again"
        )))
    }

    pub async fn erasures(&self, page: &PageRequest) -> ServiceResult<Page<Erasure>> {
        Ok(self.erasure.erasures(page).await?)
    }

    /// Erases the resolved conversations `retention` has run out for (a batch of them;
    /// the next sweep goes on), and each contact left without a conversation.
    pub async fn sweep(&self, retention: Retention, now: DateTime<Utc>) -> ServiceResult<Swept> {
        let cutoff = retention.cutoff(now);
        let mut swept = Swept::default();
        for id in self
            .erasure
            .resolved_before(cutoff, RETENTION_BATCH)
            .await?
        {
            match self.expire(id, cutoff).await {
                Ok(Some(plan)) => {
                    swept.conversations += plan.conversations.len();
                    swept.contacts += usize::from(plan.contact.is_some());
                    tracing::info!(conversation_id = %id, erasure_id = %plan.record.id,
                        contact_erased = plan.contact.is_some(), messages = plan.record.messages,
                        "conversation past its retention erased");
                }
                Ok(None) => {}
                // Changing meanwhile: its turn comes again at the next sweep.
                Err(PortError::Conflict(reason)) => {
                    tracing::info!(conversation_id = %id, %reason, "retention skipped a conversation that changed");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(swept)
    }

    /// One due conversation, read and decided again; the plan applied, if any.
    async fn expire(
        &self,
        id: ConversationId,
        cutoff: DateTime<Utc>,
    ) -> Result<Option<ErasurePlan>, PortError> {
        let Some(held) = self.erasure.conversation_holdings(id).await? else {
            return Ok(None);
        };
        let contact = self
            .erasure
            .contact_holdings(held.conversation.contact_id)
            .await?;
        let Some(plan) = plan_retention(&held, contact.as_ref(), cutoff, Utc::now()) else {
            return Ok(None);
        };
        self.apply(&plan).await?;
        Ok(Some(plan))
    }

    async fn read(
        &self,
        id: ContactId,
    ) -> ServiceResult<(ContactHoldings, Vec<ConversationHoldings>)> {
        let contact = self
            .erasure
            .contact_holdings(id)
            .await?
            .ok_or(ServiceError::NotFound("contact"))?;
        let mut conversations = Vec::with_capacity(contact.conversations.len());
        for conversation in &contact.conversations {
            let held = self.erasure.conversation_holdings(*conversation).await?;
            // A merge may have moved it to another contact since it was listed.
            conversations.extend(held.filter(|h| h.conversation.contact_id == id));
        }
        Ok((contact, conversations))
    }

    /// Files first: should the rest fail, a retry finds the rows and removes them, while
    /// a file whose row went first would be found by nothing.
    async fn apply(&self, plan: &ErasurePlan) -> Result<(), PortError> {
        for key in &plan.files {
            self.blobs.delete(key).await?;
        }
        self.erasure.apply_erasure(plan).await
    }
}
