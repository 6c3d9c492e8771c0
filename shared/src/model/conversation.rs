use super::{AgentId, Channel, ContactId, ConversationId, TeamId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Open,
    Pending,
    Snoozed,
    Resolved,
}

#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

macro_rules! str_enum {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}
pub(crate) use str_enum;

str_enum!(ConversationStatus { Open => "open", Pending => "pending", Snoozed => "snoozed", Resolved => "resolved" });
str_enum!(Priority { Low => "low", Normal => "normal", High => "high", Urgent => "urgent" });

/// One thread of requests from one contact, on any mix of channels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Conversation {
    pub id: ConversationId,
    pub contact_id: ContactId,
    pub status: ConversationStatus,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub team_id: Option<TeamId>,
    pub assignee_id: Option<AgentId>,
    pub subject: Option<String>,
    /// The channel the customer last wrote on; replies go there unless told otherwise.
    pub channel: Channel,
    /// Every channel the conversation has seen.
    pub channels: Vec<Channel>,
    pub message_count: u32,
    /// Text of the latest message, shortened, for list views.
    pub preview: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Bumped on every change; stores use it for optimistic concurrency.
    pub version: u64,
}

impl Conversation {
    pub fn is_closed(&self) -> bool {
        self.status == ConversationStatus::Resolved
    }

    /// A customer page shows this conversation to whoever holds its link (it began with a
    /// web-form submission). Such a conversation takes in only what is written on that
    /// page, and whatever names it explicitly from a sender it vouches for; a message on
    /// another channel never drifts into it, so a link can never show more than its
    /// holder wrote and the answers they got.
    pub fn is_customer_page(&self) -> bool {
        self.channels.contains(&super::Channel::Web)
    }
}

/// A short single-line preview of a text for list views.
pub fn preview_of(text: &str) -> String {
    const MAX_CHARS: usize = 140;
    let single_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if single_line.chars().count() <= MAX_CHARS {
        single_line
    } else {
        let mut cut: String = single_line.chars().take(MAX_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

/// A tag: 1–50 characters of letters, digits, `-`, `_` or `:`; stored lower-case.
pub fn normalize_tag(tag: &str) -> Option<String> {
    let tag = tag.trim().to_lowercase();
    let ok = !tag.is_empty()
        && tag.chars().count() <= 50
        && tag
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ':'));
    ok.then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_one_line_and_short() {
        assert_eq!(preview_of("hello\n  world"), "hello world");
        let long = "سلام ".repeat(100);
        let preview = preview_of(&long);
        assert_eq!(preview.chars().count(), 140);
        assert!(preview.ends_with('…'));
    }

    #[test]
    fn tags_are_normalized_or_refused() {
        assert_eq!(normalize_tag(" Billing "), Some("billing".into()));
        assert_eq!(normalize_tag("درگاه-بانک"), Some("درگاه-بانک".into()));
        assert_eq!(normalize_tag("two words"), None);
        assert_eq!(normalize_tag(""), None);
    }
}
