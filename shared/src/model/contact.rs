use super::{Channel, ContactId, EventKind, Identity, Reachability};
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
    /// The agents' labels for the customer (`wholesale`, `press`): letters, digits, `-`,
    /// `_` and `:`, like a conversation's tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// A customer who gets the best service; rules can tell.
    #[serde(default)]
    pub vip: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What rules read of a contact: their tags and whether they are a VIP.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactProfile {
    pub tags: Vec<String>,
    pub vip: bool,
}

/// Most tags one contact carries.
pub const MAX_CONTACT_TAGS: usize = 20;

impl Contact {
    pub fn profile(&self) -> ContactProfile {
        ContactProfile {
            tags: self.tags.clone(),
            vip: self.vip,
        }
    }

    /// What an agent's merge makes of `self` (the survivor) and `absorbed`: every identity
    /// of both (one that both hold is as strong as its stronger holding), the survivor's
    /// name or else the absorbed one's, the channels either blocked, and both contacts'
    /// suggestions except those naming either of them. Both stores apply this.
    pub fn absorbing(&self, absorbed: &Contact, at: DateTime<Utc>) -> Contact {
        let mut merged = self.clone();
        for held in &absorbed.identities {
            match merged
                .identities
                .iter_mut()
                .find(|kept| kept.identity == held.identity)
            {
                Some(kept) => kept.absorb(held),
                None => merged.identities.push(held.clone()),
            }
        }
        let others: Vec<MergeSuggestion> = self
            .merge_suggestions
            .iter()
            .chain(&absorbed.merge_suggestions)
            .filter(|s| s.other_contact_id != self.id && s.other_contact_id != absorbed.id)
            .cloned()
            .collect();
        merged.merge_suggestions.clear();
        add_merge_suggestions(&mut merged.merge_suggestions, &others);
        if merged.name.is_none() {
            merged.name.clone_from(&absorbed.name);
        }
        merged
            .blocked_channels
            .extend(absorbed.blocked_channels.iter().copied());
        merged.blocked_channels.sort();
        merged.blocked_channels.dedup();
        // One person: every label either carried, a VIP if either was.
        merged.tags.extend(absorbed.tags.iter().cloned());
        merged.tags.sort();
        merged.tags.dedup();
        merged.vip |= absorbed.vip;
        merged.updated_at = at;
        merged
    }

    /// Records what a channel says of whether the customer can be reached there, and
    /// the event to log, or `None` when it was already so (a repeated update changes
    /// nothing).
    pub fn set_reachability(
        &mut self,
        channel: Channel,
        reachability: Reachability,
        at: DateTime<Utc>,
    ) -> Option<EventKind> {
        let blocked = &mut self.blocked_channels;
        let kind = match reachability {
            Reachability::Blocked if !blocked.contains(&channel) => {
                blocked.push(channel);
                blocked.sort();
                EventKind::ChannelBlocked { channel }
            }
            Reachability::Unblocked if blocked.contains(&channel) => {
                blocked.retain(|c| *c != channel);
                EventKind::ChannelUnblocked { channel }
            }
            _ => return None,
        };
        self.updated_at = at;
        Some(kind)
    }
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

impl ContactIdentity {
    /// Takes in another contact's holding of the same identity: proven if either was,
    /// typed only if both were and it is not proven.
    pub fn absorb(&mut self, other: &ContactIdentity) {
        self.proven |= other.proven;
        self.typed = self.typed && other.typed && !self.proven;
    }
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

    fn email(value: &str) -> Identity {
        Identity {
            kind: crate::model::IdentityKind::Email,
            value: value.into(),
        }
    }

    fn holding(value: &str, proven: bool, typed: bool) -> ContactIdentity {
        ContactIdentity {
            identity: email(value),
            proven,
            typed,
            added_at: DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap(),
        }
    }

    fn contact(name: Option<&str>, identities: Vec<ContactIdentity>) -> Contact {
        let at = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        Contact {
            id: ContactId::new(),
            name: name.map(str::to_owned),
            identities,
            merge_suggestions: Vec::new(),
            blocked_channels: Vec::new(),
            tags: Vec::new(),
            vip: false,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn a_merge_keeps_every_identity_at_its_strongest_and_drops_suggestions_about_the_pair() {
        let mut survivor = contact(
            None,
            vec![
                holding("both@example.com", false, true),
                holding("typed-twice@example.com", false, true),
            ],
        );
        let mut absorbed = contact(
            Some("Sara"),
            vec![
                holding("both@example.com", true, false),
                holding("typed-twice@example.com", false, true),
                holding("only-absorbed@example.com", false, false),
            ],
        );
        let third = ContactId::new();
        let suggest = |other| MergeSuggestion {
            other_contact_id: other,
            identity: email("both@example.com"),
            suggested_at: Utc::now(),
        };
        survivor.merge_suggestions = vec![suggest(absorbed.id), suggest(third)];
        absorbed.merge_suggestions = vec![suggest(survivor.id), suggest(third)];
        survivor.blocked_channels = vec![Channel::Sms];
        absorbed.blocked_channels = vec![Channel::Telegram, Channel::Sms];
        survivor.tags = vec!["wholesale".into()];
        absorbed.tags = vec!["press".into(), "wholesale".into()];
        absorbed.vip = true;
        let at = Utc::now();

        let merged = survivor.absorbing(&absorbed, at);
        assert_eq!(merged.id, survivor.id);
        assert_eq!(
            merged.name.as_deref(),
            Some("Sara"),
            "the absorbed name fills a gap"
        );
        let held = |v: &str| {
            merged
                .identities
                .iter()
                .find(|i| i.identity.value == v)
                .unwrap()
        };
        assert!(held("both@example.com").proven && !held("both@example.com").typed);
        assert!(held("typed-twice@example.com").typed && !held("typed-twice@example.com").proven);
        assert!(!held("only-absorbed@example.com").typed);
        assert_eq!(merged.identities.len(), 3);
        assert_eq!(
            merged.merge_suggestions.len(),
            1,
            "{:?}",
            merged.merge_suggestions
        );
        assert_eq!(merged.merge_suggestions[0].other_contact_id, third);
        assert_eq!(merged.blocked_channels.len(), 2);
        assert_eq!(
            merged.tags,
            vec!["press".to_owned(), "wholesale".to_owned()]
        );
        assert!(merged.vip, "a VIP if either was");
        assert_eq!(merged.updated_at, at);
        let named = contact(Some("Ana"), vec![]);
        assert_eq!(named.absorbing(&absorbed, at).name.as_deref(), Some("Ana"));
    }

    #[test]
    fn blocking_and_unblocking_log_an_event_only_when_something_changes() {
        let mut c = contact(None, vec![]);
        let at = Utc::now();
        assert_eq!(
            c.set_reachability(Channel::Telegram, Reachability::Unblocked, at),
            None
        );
        assert_eq!(
            c.set_reachability(Channel::Telegram, Reachability::Blocked, at),
            Some(EventKind::ChannelBlocked {
                channel: Channel::Telegram
            })
        );
        assert_eq!(c.blocked_channels, vec![Channel::Telegram]);
        assert_eq!(c.updated_at, at);
        assert_eq!(
            c.set_reachability(Channel::Telegram, Reachability::Blocked, Utc::now()),
            None,
            "a repeated update changes nothing"
        );
        assert_eq!(c.updated_at, at);
        assert_eq!(
            c.set_reachability(Channel::Telegram, Reachability::Unblocked, at),
            Some(EventKind::ChannelUnblocked {
                channel: Channel::Telegram
            })
        );
        assert!(c.blocked_channels.is_empty());
    }
}
