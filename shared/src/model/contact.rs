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

/// The most merge suggestions a contact keeps: the newest. Anyone may type a customer's
/// address into the form as often as the rate limit lets them; what they type never grows
/// the customer's record without bound.
pub const MAX_MERGE_SUGGESTIONS: usize = 20;

/// Adds each of `new` to `held` unless `held` already names its other contact, keeping the
/// newest [`MAX_MERGE_SUGGESTIONS`].
pub fn add_merge_suggestions(held: &mut Vec<MergeSuggestion>, new: &[MergeSuggestion]) {
    for suggestion in new {
        if !held
            .iter()
            .any(|old| old.other_contact_id == suggestion.other_contact_id)
        {
            held.push(suggestion.clone());
        }
    }
    if held.len() > MAX_MERGE_SUGGESTIONS {
        held.sort_by_key(|s| s.suggested_at);
        held.drain(..held.len() - MAX_MERGE_SUGGESTIONS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Identity;

    #[test]
    fn a_contact_keeps_each_other_contact_once_and_only_the_newest_suggestions() {
        let at = |n: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + n, 0).unwrap();
        let suggestion = |n: i64| MergeSuggestion {
            other_contact_id: ContactId::new(),
            identity: Identity {
                kind: crate::model::IdentityKind::Email,
                value: "a@example.com".into(),
            },
            suggested_at: at(n),
        };
        let first = suggestion(0);
        let mut held = vec![first.clone()];
        add_merge_suggestions(&mut held, std::slice::from_ref(&first));
        assert_eq!(held.len(), 1, "the same other contact is named once");

        let flood: Vec<_> = (1..=30).map(suggestion).collect();
        add_merge_suggestions(&mut held, &flood);
        assert_eq!(held.len(), MAX_MERGE_SUGGESTIONS);
        assert!(!held.contains(&first), "the oldest went first");
        assert_eq!(held.last(), flood.last(), "the newest is kept");
    }
}
