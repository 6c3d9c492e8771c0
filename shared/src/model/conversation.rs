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
    /// The customer wrote last, and has waited for us since then: set by their first
    /// message after an agent's reply, cleared by the next reply or by resolving.
    #[serde(default)]
    pub waiting_since: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The incident it is about, while linked to one.
    #[serde(default)]
    pub incident_id: Option<super::IncidentId>,
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

    /// This conversation resolved at `now`, with the event that tells it; none when it
    /// is resolved already.
    pub fn resolving(&self, now: DateTime<Utc>) -> Option<(Conversation, super::EventKind)> {
        if self.status == ConversationStatus::Resolved {
            return None;
        }
        let next = Conversation {
            status: ConversationStatus::Resolved,
            snoozed_until: None,
            resolved_at: Some(now),
            waiting_since: None,
            updated_at: now,
            ..self.clone()
        };
        let kind = super::EventKind::StatusChanged {
            from: self.status,
            to: ConversationStatus::Resolved,
        };
        Some((next, kind))
    }
}

/// A conversation as a list shows it: with who it is with, so a row needs no second call.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConversationRow {
    #[serde(flatten)]
    pub conversation: Conversation,
    /// The contact's display name, if they gave one.
    pub contact_name: Option<String>,
    /// Its service level, when a policy measures it.
    pub sla: Option<super::SlaView>,
}

impl Conversation {
    /// This conversation once `other` (of the same contact) is folded into it: one
    /// timeline, every channel and tag of both, the more pressing status and priority,
    /// and what the newer of the two last said.
    pub fn absorbing(&self, other: &Conversation, at: DateTime<Utc>) -> Conversation {
        let mut c = self.clone();
        let activity = |status: ConversationStatus| match status {
            ConversationStatus::Open => 3,
            ConversationStatus::Pending => 2,
            ConversationStatus::Snoozed => 1,
            ConversationStatus::Resolved => 0,
        };
        if activity(other.status) > activity(c.status) {
            c.status = other.status;
            c.snoozed_until = other.snoozed_until;
            c.resolved_at = other.resolved_at;
        }
        c.priority = c.priority.max(other.priority);
        for tag in &other.tags {
            if !c.tags.contains(tag) {
                c.tags.push(tag.clone());
            }
        }
        c.team_id = c.team_id.or(other.team_id);
        c.assignee_id = c.assignee_id.or(other.assignee_id);
        if c.subject.is_none() {
            c.subject.clone_from(&other.subject);
        }
        for channel in &other.channels {
            if !c.channels.contains(channel) {
                c.channels.push(*channel);
            }
        }
        c.channels.sort();
        c.message_count += other.message_count;
        if other.updated_at > c.updated_at {
            c.preview.clone_from(&other.preview);
        }
        if other.last_inbound_at > c.last_inbound_at {
            c.last_inbound_at = other.last_inbound_at;
            c.channel = other.channel;
        }
        if c.status != ConversationStatus::Resolved {
            // Whoever of the two has waited longer.
            c.waiting_since = [c.waiting_since, other.waiting_since]
                .into_iter()
                .flatten()
                .min();
        }
        c.updated_at = at;
        c
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

    fn conversation(status: ConversationStatus, minute: i64) -> Conversation {
        let at = DateTime::<Utc>::from_timestamp(1_700_000_000 + minute * 60, 0).unwrap();
        Conversation {
            id: ConversationId::new(),
            contact_id: ContactId::new(),
            status,
            snoozed_until: None,
            priority: Priority::Normal,
            tags: vec![],
            team_id: None,
            assignee_id: None,
            subject: None,
            channel: super::super::Channel::Email,
            channels: vec![super::super::Channel::Email],
            message_count: 2,
            preview: format!("said at {minute}"),
            created_at: at,
            updated_at: at,
            last_inbound_at: Some(at),
            waiting_since: Some(at),
            incident_id: None,
            resolved_at: None,
            version: 4,
        }
    }

    #[test]
    fn a_folded_conversation_brings_its_channels_tags_count_and_the_more_pressing_state() {
        let mut kept = conversation(ConversationStatus::Resolved, 0);
        kept.tags = vec!["billing".into()];
        kept.waiting_since = None;
        let mut other = conversation(ConversationStatus::Open, 5);
        other.channels = vec![super::super::Channel::Telegram];
        other.channel = super::super::Channel::Telegram;
        other.priority = Priority::Urgent;
        other.tags = vec!["billing".into(), "outage".into()];
        other.subject = Some("card declined".into());
        let now = other.updated_at + chrono::Duration::minutes(1);

        let folded = kept.absorbing(&other, now);
        assert_eq!(folded.id, kept.id);
        assert_eq!(
            folded.version, kept.version,
            "the store checks the version read"
        );
        assert_eq!(folded.status, ConversationStatus::Open);
        assert_eq!(folded.priority, Priority::Urgent);
        assert_eq!(folded.tags, vec!["billing", "outage"]);
        assert_eq!(folded.subject.as_deref(), Some("card declined"));
        assert_eq!(folded.message_count, 4);
        assert_eq!(folded.channel, super::super::Channel::Telegram);
        assert_eq!(folded.channels.len(), 2);
        assert_eq!(folded.preview, "said at 5", "the newer one spoke last");
        assert_eq!(
            folded.waiting_since, other.waiting_since,
            "its customer still waits"
        );
        assert_eq!(folded.updated_at, now);
    }

    #[test]
    fn tags_are_normalized_or_refused() {
        assert_eq!(normalize_tag(" Billing "), Some("billing".into()));
        assert_eq!(normalize_tag("درگاه-بانک"), Some("درگاه-بانک".into()));
        assert_eq!(normalize_tag("two words"), None);
        assert_eq!(normalize_tag(""), None);
    }
}
