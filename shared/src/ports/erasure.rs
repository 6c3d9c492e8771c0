use super::{Page, PageRequest, PortResult};
use crate::model::{ContactId, ConversationId, Erasure};
use crate::services::erasure::{ContactHoldings, ConversationHoldings, ErasurePlan};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Reading everything held on a customer, and erasing it. The decisions are
/// `services::erasure`'s; the store reads what they need and applies what they decide.
#[async_trait]
pub trait ErasureStore: Send + Sync {
    /// The contact, every identity they hold with whoever else holds it, and the ids of
    /// their conversations; none when there is no such contact.
    async fn contact_holdings(&self, id: ContactId) -> PortResult<Option<ContactHoldings>>;

    /// The conversation with everything in it, oldest first; none when it is gone.
    async fn conversation_holdings(
        &self,
        id: ConversationId,
    ) -> PortResult<Option<ConversationHoldings>>;

    /// Removes what `plan` names and records its tombstone. Each conversation goes only
    /// while at the version planned on, and the contact only while as read (else
    /// `Conflict`: read and plan again); what was removed before stays removed, so
    /// applying a fresh plan finishes the work. The contact goes last, with the tombstone.
    async fn apply_erasure(&self, plan: &ErasurePlan) -> PortResult<()>;

    /// Resolved conversations last changed before `before`, least recently first.
    async fn resolved_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> PortResult<Vec<ConversationId>>;

    /// The tombstones erasures left, newest first.
    async fn erasures(&self, page: &PageRequest) -> PortResult<Page<Erasure>>;
}
