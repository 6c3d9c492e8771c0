//! Typed, prefixed, sortable identifiers (`ct_01j…`, `cv_01j…`).
//!
//! Each id is a ULID behind a short prefix naming its kind, so an id pasted in the wrong
//! place is refused at the edge, and ids sort by creation time.

use std::sync::{LazyLock, Mutex};
use ulid::{Generator, Ulid};

static GENERATOR: LazyLock<Mutex<Generator>> = LazyLock::new(|| Mutex::new(Generator::new()));

/// A new ULID, strictly increasing within this process so items made in the same
/// millisecond keep their order.
pub fn next_ulid() -> Ulid {
    let mut generator = GENERATOR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    generator.generate().unwrap_or_else(|_| Ulid::new())
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{value}` is not a valid {kind} id (expected `{prefix}_` followed by 26 characters)")]
pub struct InvalidId {
    pub kind: &'static str,
    pub prefix: &'static str,
    pub value: String,
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Ulid);

        /// A string: the prefix, `_`, and a ULID as [`Display`](std::fmt::Display) writes it.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(concat!("^", $prefix, "_[0-7][0-9a-hjkmnp-tv-z]{25}$")))
                    .examples([serde_json::json!(concat!($prefix, "_01jd8x3m6k9q0w5e2r7t4y1v3h"))])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(next_ulid())
            }

            pub fn ulid(&self) -> Ulid {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}_{}", $prefix, self.0.to_string().to_ascii_lowercase())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(self, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let invalid = || InvalidId { kind: $kind, prefix: $prefix, value: s.chars().take(64).collect() };
                let rest = s
                    .strip_prefix($prefix)
                    .and_then(|r| r.strip_prefix('_'))
                    .ok_or_else(invalid)?;
                Ulid::from_string(rest).map(Self).map_err(|_| invalid())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

typed_id!(
    /// A customer: one person or organisation with many identities.
    ContactId, "ct", "contact");
typed_id!(
    /// One thread of requests from a contact, across channels.
    ConversationId, "cv", "conversation");
typed_id!(
    /// A message in or out, on any channel.
    MessageId, "msg", "message");
typed_id!(
    /// A private note on a conversation.
    NoteId, "nt", "note");
typed_id!(
    /// An audit-trail entry.
    EventId, "ev", "event");
typed_id!(
    /// A support agent or admin.
    AgentId, "ag", "agent");
typed_id!(
    /// A team of agents.
    TeamId, "tm", "team");
typed_id!(
    /// The record that a customer's data was erased.
    ErasureId, "er", "erasure");
typed_id!(
    /// An outbound webhook subscription.
    WebhookId, "wh", "webhook");
typed_id!(
    /// Business hours with holidays, that service-level clocks count in.
    CalendarId, "cal", "calendar");
typed_id!(
    /// A service-level policy: response and resolution targets per priority.
    SlaPolicyId, "sla", "SLA policy");
typed_id!(
    /// A routing rule: conditions and the actions taken when they hold.
    RuleId, "rl", "rule");
typed_id!(
    /// An answer written once and sent often.
    CannedReplyId, "cr", "canned reply");
typed_id!(
    /// A named list of steps an agent runs on a conversation.
    MacroId, "mc", "macro");
typed_id!(
    /// One outage many customers write about, handled as one.
    IncidentId, "inc", "incident");
typed_id!(
    /// A help-center article.
    ArticleId, "ar", "article");
typed_id!(
    /// One update posted to an incident's customers.
    IncidentUpdateId, "iu", "incident update");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_round_trips_through_its_text_form() {
        let id = ContactId::new();
        let text = id.to_string();
        assert!(text.starts_with("ct_"));
        assert_eq!(text.len(), 29);
        assert_eq!(text.parse::<ContactId>(), Ok(id));
    }

    #[test]
    fn an_id_of_another_kind_is_refused() {
        let conversation = ConversationId::new().to_string();
        let err = conversation.parse::<ContactId>().unwrap_err();
        assert_eq!(err.kind, "contact");
        assert!("ct_nonsense".parse::<ContactId>().is_err());
        assert!("".parse::<ContactId>().is_err());
    }

    #[test]
    fn ids_made_in_order_sort_in_order() {
        let ids: Vec<MessageId> = (0..1000).map(|_| MessageId::new()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        let texts: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let mut sorted_texts = texts.clone();
        sorted_texts.sort();
        assert_eq!(texts, sorted_texts);
    }
}
