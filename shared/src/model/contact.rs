use super::{Channel, ContactId, Identity};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A customer, known by many identities.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: ContactId,
    pub name: Option<String>,
    pub identities: Vec<ContactIdentity>,
    /// Other contacts that may be the same person, waiting for an agent to confirm.
    pub merge_suggestions: Vec<MergeSuggestion>,
    /// Channels on which the contact blocked us (a Telegram user who blocked the bot):
    /// replies there fail at once.
    #[serde(default)]
    pub blocked_channels: Vec<Channel>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactIdentity {
    #[serde(flatten)]
    pub identity: Identity,
    /// True when a channel vouched for it.
    pub proven: bool,
    /// True when it was only typed into a form: it then never leads another message to
    /// this contact (see [`PresentedIdentity`](super::PresentedIdentity)).
    #[serde(default)]
    pub typed: bool,
    pub added_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MergeSuggestion {
    pub other_contact_id: ContactId,
    /// The identity both contacts present.
    pub identity: Identity,
    pub suggested_at: DateTime<Utc>,
}
