use super::PortResult;
use crate::model::{Calendar, CalendarId, ConversationId, ConversationSla, SlaPolicy, SlaPolicyId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Where a list in due order goes on from: the last record's due time and conversation.
pub type DuePosition = (DateTime<Utc>, ConversationId);

/// Service levels: the calendars and policies an admin sets, and each conversation's
/// clocks, found by when they fall due through an index (never by reading them all).
#[async_trait]
pub trait SlaStore: Send + Sync {
    /// Every calendar, first made first.
    async fn calendars(&self) -> PortResult<Vec<Calendar>>;
    /// Creates or replaces it.
    async fn save_calendar(&self, calendar: &Calendar) -> PortResult<()>;
    /// False when there was none.
    async fn delete_calendar(&self, id: CalendarId) -> PortResult<bool>;

    /// Every policy, first made first.
    async fn sla_policies(&self) -> PortResult<Vec<SlaPolicy>>;
    /// Creates or replaces it.
    async fn save_sla_policy(&self, policy: &SlaPolicy) -> PortResult<()>;
    /// False when there was none.
    async fn delete_sla_policy(&self, id: SlaPolicyId) -> PortResult<bool>;

    async fn conversation_sla(&self, id: ConversationId) -> PortResult<Option<ConversationSla>>;
    /// Stores `sla` if its stored version is still `sla.version` (0: none stored yet),
    /// else `Conflict`; returns it with its version bumped.
    async fn save_conversation_sla(&self, sla: &ConversationSla) -> PortResult<ConversationSla>;
    /// Records with a target owed, soonest due first (overdue ones first of all), after
    /// `after`; at most `limit`.
    async fn slas_by_due(
        &self,
        after: Option<DuePosition>,
        limit: u32,
    ) -> PortResult<Vec<ConversationSla>>;
    /// Records whose `wake_at` is at or before `until`, soonest first; at most `limit`.
    async fn slas_to_wake(
        &self,
        until: DateTime<Utc>,
        limit: u32,
    ) -> PortResult<Vec<ConversationSla>>;
}
