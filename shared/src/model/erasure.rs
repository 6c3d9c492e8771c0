//! The audit trail of erasures: what was erased, when and why, and nothing of whom.

use super::{AgentId, ContactId, ErasureId, conversation::str_enum};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why data was erased.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErasureReason {
    /// An admin erased a contact (`DELETE /v1/contacts/{id}`).
    Request,
    /// The retention period of a resolved conversation ran out.
    Retention,
}

str_enum!(ErasureReason { Request => "request", Retention => "retention" });

/// The tombstone an erasure leaves: counts and ids that name nobody any more (the
/// contact's id led to the contact, which is gone), never a name, an address, a text or
/// a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Erasure {
    pub id: ErasureId,
    pub reason: ErasureReason,
    pub erased_at: DateTime<Utc>,
    /// The admin who asked; none when retention erased.
    pub actor_id: Option<AgentId>,
    /// The contact erased with everything of theirs; none when only conversations went
    /// (their contact still has others).
    pub contact_id: Option<ContactId>,
    pub conversations: u32,
    pub messages: u32,
    pub notes: u32,
    pub events: u32,
    /// Attachments and originals deleted from the file store.
    pub files: u32,
}
