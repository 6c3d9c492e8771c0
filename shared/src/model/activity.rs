//! Notes, the audit trail, and the timeline that interleaves them with messages.

use super::{
    AgentId, Channel, ContactId, ConversationId, ConversationStatus, EventId, Identity, Message,
    NoteId, Priority, TeamId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A private note between agents; never sent to the customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Note {
    pub id: NoteId,
    pub conversation_id: ConversationId,
    pub author_id: AgentId,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

/// What happened to a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    Created,
    Assigned {
        from: Option<AgentId>,
        to: Option<AgentId>,
    },
    StatusChanged {
        from: ConversationStatus,
        to: ConversationStatus,
    },
    Reopened,
    Snoozed {
        until: DateTime<Utc>,
    },
    PriorityChanged {
        from: Priority,
        to: Priority,
    },
    TeamChanged {
        from: Option<TeamId>,
        to: Option<TeamId>,
    },
    TagsChanged {
        added: Vec<String>,
        removed: Vec<String>,
    },
    /// Another contact's conversations and identities were folded into this one's.
    ContactsMerged {
        survivor: ContactId,
        absorbed: ContactId,
    },
    /// An agent folded another conversation of the same contact into this one: its
    /// messages, notes and events are in this timeline now, and it is gone.
    ConversationFolded {
        from: ConversationId,
    },
    /// A message presented an identity another contact already has.
    MergeSuggested {
        other_contact_id: ContactId,
        identity: Identity,
    },
    /// The customer blocked us on a channel (a Telegram user blocked the bot).
    ChannelBlocked {
        channel: Channel,
    },
    /// The customer unblocked us on a channel.
    ChannelUnblocked {
        channel: Channel,
    },
    /// The customer proved an address they had typed (they followed the link sent to it,
    /// or entered the code): from now on it is a proven identity of their contact.
    IdentityProven {
        identity: Identity,
    },
    /// A routing rule applied; the changes it made follow as their own events.
    RuleApplied {
        rule_id: super::RuleId,
        rule_name: String,
    },
    /// A service-level target ran out with the customer still owed it.
    SlaBreached {
        target: super::SlaTarget,
        due_at: DateTime<Utc>,
    },
    /// A service-level target has a quarter of its time or less left.
    SlaDueSoon {
        target: super::SlaTarget,
        due_at: DateTime<Utc>,
    },
    /// A rule left a note for the agents.
    RuleNote {
        text: String,
    },
    /// A rule called these agents to the conversation: they are notified.
    AgentsCalled {
        agent_ids: Vec<AgentId>,
        rule_name: String,
    },
    /// The conversation is measured against this SLA policy from now on.
    SlaPolicyApplied {
        sla_policy_id: super::SlaPolicyId,
    },
    /// The customer was asked to rate how the conversation went (the survey's number).
    SurveySent {
        number: u32,
        channel: Channel,
    },
    /// The customer rated the conversation.
    CsatRated {
        number: u32,
        /// 1 (poor) to 5 (great).
        rating: u8,
        /// 0–10, when asked and given.
        nps: Option<u8>,
        comment: Option<String>,
    },
    /// The conversation is about an incident: its clocks hold while the incident lasts,
    /// and the incident's updates answer it.
    IncidentLinked {
        incident_id: super::IncidentId,
        title: String,
    },
    /// The conversation is no longer part of the incident (an agent unlinked it, or the
    /// incident was resolved and it stays open): its clocks run again.
    IncidentUnlinked {
        incident_id: super::IncidentId,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    pub id: EventId,
    pub conversation_id: ConversationId,
    #[serde(flatten)]
    pub kind: EventKind,
    /// The agent who caused it; none when the system did.
    pub actor_id: Option<AgentId>,
    pub created_at: DateTime<Utc>,
}

impl Event {
    pub fn new(
        conversation_id: ConversationId,
        kind: EventKind,
        actor_id: Option<AgentId>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: EventId::new(),
            conversation_id,
            kind,
            actor_id,
            created_at: at,
        }
    }
}

/// One entry of a conversation's timeline, oldest first.
// Most entries are messages, so boxing them would cost an allocation each and save
// nothing; pages hold at most a hundred.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "item", rename_all = "snake_case")]
pub enum TimelineItem {
    Message(Message),
    Note(Note),
    Event(Event),
}

impl TimelineItem {
    /// The same item in another conversation's timeline (a fold moved it there).
    pub fn moved_to(mut self, conversation: ConversationId) -> Self {
        match &mut self {
            Self::Message(m) => m.conversation_id = conversation,
            Self::Note(n) => n.conversation_id = conversation,
            Self::Event(e) => e.conversation_id = conversation,
        }
        self
    }

    /// The item's id as text, which sorts in creation order across kinds.
    pub fn sort_key(&self) -> (DateTime<Utc>, String) {
        match self {
            Self::Message(m) => (m.created_at, m.id.ulid().to_string()),
            Self::Note(n) => (n.created_at, n.id.ulid().to_string()),
            Self::Event(e) => (e.created_at, e.id.ulid().to_string()),
        }
    }
}
