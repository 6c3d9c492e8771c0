//! The event log: every change the inbox makes, one entry each, in the order they
//! were made. Subscribers (and the changes feed) read it from a position they keep.
//!
//! An entry names what changed by id and kind only. Whatever a reader shows of it
//! (the message, the conversation as it stands) it reads from the inbox, so the log
//! holds nothing personal and an erasure needs no second pass over it.

use super::{AgentId, ContactId, ConversationId, DeliveryStatus, EventId, MessageId, NoteId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What happened: the `type` of a log entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum ChangeType {
    /// A customer's message was stored (`message_id`).
    #[serde(rename = "message.received")]
    MessageReceived,
    /// An agent's reply was written and waits to go out (`message_id`).
    #[serde(rename = "reply.queued")]
    ReplyQueued,
    /// The channel took the reply.
    #[serde(rename = "reply.sent")]
    ReplySent,
    /// The channel reported the reply delivered.
    #[serde(rename = "reply.delivered")]
    ReplyDelivered,
    /// The reply could not be sent, or bounced.
    #[serde(rename = "reply.failed")]
    ReplyFailed,
    /// An agent wrote a note (`note_id`).
    #[serde(rename = "note.added")]
    NoteAdded,
    #[serde(rename = "conversation.created")]
    ConversationCreated,
    #[serde(rename = "conversation.assigned")]
    ConversationAssigned,
    #[serde(rename = "conversation.status_changed")]
    ConversationStatusChanged,
    #[serde(rename = "conversation.reopened")]
    ConversationReopened,
    #[serde(rename = "conversation.snoozed")]
    ConversationSnoozed,
    #[serde(rename = "conversation.priority_changed")]
    ConversationPriorityChanged,
    #[serde(rename = "conversation.team_changed")]
    ConversationTeamChanged,
    #[serde(rename = "conversation.tags_changed")]
    ConversationTagsChanged,
    /// Another conversation of the contact was folded into this one.
    #[serde(rename = "conversation.folded")]
    ConversationFolded,
    /// A service-level target ran out with the customer still owed it.
    #[serde(rename = "conversation.sla_breached")]
    ConversationSlaBreached,
    /// A service-level target has a quarter of its time or less left.
    #[serde(rename = "conversation.sla_due_soon")]
    ConversationSlaDueSoon,
    /// A routing rule applied (`event_id`: its `rule_applied` event).
    #[serde(rename = "conversation.rule_applied")]
    ConversationRuleApplied,
    /// A rule left a note for the agents (`event_id`: its `rule_note` event).
    #[serde(rename = "conversation.rule_note")]
    ConversationRuleNote,
    /// A rule called agents to the conversation (`event_id`: its `agents_called` event).
    #[serde(rename = "conversation.agents_called")]
    ConversationAgentsCalled,
    /// A rule chose the SLA policy the conversation is measured against.
    #[serde(rename = "conversation.sla_policy_applied")]
    ConversationSlaPolicyApplied,
    /// The customer was asked to rate the conversation (`event_id`: its `survey_sent` event).
    #[serde(rename = "conversation.survey_sent")]
    ConversationSurveySent,
    /// The customer rated the conversation (`event_id`: its `csat_rated` event).
    #[serde(rename = "conversation.csat_rated")]
    ConversationCsatRated,
    /// The conversation was linked to an incident (`event_id`: its `incident_linked` event).
    #[serde(rename = "conversation.incident_linked")]
    ConversationIncidentLinked,
    /// The conversation left its incident (`event_id`: its `incident_unlinked` event).
    #[serde(rename = "conversation.incident_unlinked")]
    ConversationIncidentUnlinked,
    /// Another contact was merged into this conversation's contact.
    #[serde(rename = "contact.merged")]
    ContactMerged,
    #[serde(rename = "contact.merge_suggested")]
    ContactMergeSuggested,
    #[serde(rename = "contact.channel_blocked")]
    ContactChannelBlocked,
    #[serde(rename = "contact.channel_unblocked")]
    ContactChannelUnblocked,
    #[serde(rename = "contact.identity_proven")]
    ContactIdentityProven,
    #[serde(rename = "contact.created")]
    ContactCreated,
    /// A contact and everything of theirs were erased.
    #[serde(rename = "contact.erased")]
    ContactErased,
    /// A burst of new conversations made the detector propose an incident (`incident_id`).
    #[serde(rename = "incident.proposed")]
    IncidentProposed,
    /// An admin's test of a webhook subscription: never in the log, only delivered.
    #[serde(rename = "webhook.ping")]
    WebhookPing,
}

impl ChangeType {
    pub const ALL: [Self; 34] = [
        Self::MessageReceived,
        Self::ReplyQueued,
        Self::ReplySent,
        Self::ReplyDelivered,
        Self::ReplyFailed,
        Self::NoteAdded,
        Self::ConversationCreated,
        Self::ConversationAssigned,
        Self::ConversationStatusChanged,
        Self::ConversationReopened,
        Self::ConversationSnoozed,
        Self::ConversationPriorityChanged,
        Self::ConversationTeamChanged,
        Self::ConversationTagsChanged,
        Self::ConversationFolded,
        Self::ConversationSlaBreached,
        Self::ConversationSlaDueSoon,
        Self::ConversationRuleApplied,
        Self::ConversationRuleNote,
        Self::ConversationAgentsCalled,
        Self::ConversationSlaPolicyApplied,
        Self::ConversationSurveySent,
        Self::ConversationCsatRated,
        Self::ConversationIncidentLinked,
        Self::ConversationIncidentUnlinked,
        Self::ContactMerged,
        Self::ContactMergeSuggested,
        Self::ContactChannelBlocked,
        Self::ContactChannelUnblocked,
        Self::ContactIdentityProven,
        Self::ContactCreated,
        Self::ContactErased,
        Self::IncidentProposed,
        Self::WebhookPing,
    ];

    /// The name it has on the wire (`message.received`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageReceived => "message.received",
            Self::ReplyQueued => "reply.queued",
            Self::ReplySent => "reply.sent",
            Self::ReplyDelivered => "reply.delivered",
            Self::ReplyFailed => "reply.failed",
            Self::NoteAdded => "note.added",
            Self::ConversationCreated => "conversation.created",
            Self::ConversationAssigned => "conversation.assigned",
            Self::ConversationStatusChanged => "conversation.status_changed",
            Self::ConversationReopened => "conversation.reopened",
            Self::ConversationSnoozed => "conversation.snoozed",
            Self::ConversationPriorityChanged => "conversation.priority_changed",
            Self::ConversationTeamChanged => "conversation.team_changed",
            Self::ConversationTagsChanged => "conversation.tags_changed",
            Self::ConversationFolded => "conversation.folded",
            Self::ConversationSlaBreached => "conversation.sla_breached",
            Self::ConversationSlaDueSoon => "conversation.sla_due_soon",
            Self::ConversationRuleApplied => "conversation.rule_applied",
            Self::ConversationRuleNote => "conversation.rule_note",
            Self::ConversationAgentsCalled => "conversation.agents_called",
            Self::ConversationSlaPolicyApplied => "conversation.sla_policy_applied",
            Self::ConversationSurveySent => "conversation.survey_sent",
            Self::ConversationCsatRated => "conversation.csat_rated",
            Self::ConversationIncidentLinked => "conversation.incident_linked",
            Self::ConversationIncidentUnlinked => "conversation.incident_unlinked",
            Self::ContactMerged => "contact.merged",
            Self::ContactMergeSuggested => "contact.merge_suggested",
            Self::ContactChannelBlocked => "contact.channel_blocked",
            Self::ContactChannelUnblocked => "contact.channel_unblocked",
            Self::ContactIdentityProven => "contact.identity_proven",
            Self::ContactCreated => "contact.created",
            Self::ContactErased => "contact.erased",
            Self::IncidentProposed => "incident.proposed",
            Self::WebhookPing => "webhook.ping",
        }
    }

    /// The type a timeline event's tag (`assigned`, `contacts_merged`, as stored) makes.
    pub fn of_event_tag(tag: &str) -> Option<Self> {
        Some(match tag {
            "created" => Self::ConversationCreated,
            "assigned" => Self::ConversationAssigned,
            "status_changed" => Self::ConversationStatusChanged,
            "reopened" => Self::ConversationReopened,
            "snoozed" => Self::ConversationSnoozed,
            "priority_changed" => Self::ConversationPriorityChanged,
            "team_changed" => Self::ConversationTeamChanged,
            "tags_changed" => Self::ConversationTagsChanged,
            "conversation_folded" => Self::ConversationFolded,
            "sla_breached" => Self::ConversationSlaBreached,
            "sla_due_soon" => Self::ConversationSlaDueSoon,
            "rule_applied" => Self::ConversationRuleApplied,
            "rule_note" => Self::ConversationRuleNote,
            "agents_called" => Self::ConversationAgentsCalled,
            "sla_policy_applied" => Self::ConversationSlaPolicyApplied,
            "survey_sent" => Self::ConversationSurveySent,
            "csat_rated" => Self::ConversationCsatRated,
            "incident_linked" => Self::ConversationIncidentLinked,
            "incident_unlinked" => Self::ConversationIncidentUnlinked,
            "contacts_merged" => Self::ContactMerged,
            "merge_suggested" => Self::ContactMergeSuggested,
            "channel_blocked" => Self::ContactChannelBlocked,
            "channel_unblocked" => Self::ContactChannelUnblocked,
            "identity_proven" => Self::ContactIdentityProven,
            _ => return None,
        })
    }

    /// What a reply's new delivery status makes; none for `queued`.
    pub fn of_delivery(status: DeliveryStatus) -> Option<Self> {
        match status {
            DeliveryStatus::Queued | DeliveryStatus::Sending => None,
            DeliveryStatus::Sent => Some(Self::ReplySent),
            DeliveryStatus::Delivered => Some(Self::ReplyDelivered),
            DeliveryStatus::Failed => Some(Self::ReplyFailed),
            // A customer's message has `received`; it never changes.
            DeliveryStatus::Received => None,
        }
    }
}

impl std::str::FromStr for ChangeType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("not an event type: {s}"))
    }
}

impl std::fmt::Display for ChangeType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the event log, as a reader gets it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Change {
    /// Unique and stable: a consumer that sees one twice (delivery is at least once)
    /// knows it by this.
    pub id: String,
    /// Where a reader that has handled this entry resumes: pass it as `after`.
    pub cursor: String,
    #[serde(rename = "type")]
    pub kind: ChangeType,
    pub at: DateTime<Utc>,
    pub conversation_id: Option<ConversationId>,
    /// The contact a message is from or to, or the contact created or erased. For the
    /// rest, the conversation's contact (read it: a merge may have moved it since).
    pub contact_id: Option<ContactId>,
    /// The message received, or the reply written or sent.
    pub message_id: Option<MessageId>,
    pub note_id: Option<NoteId>,
    /// The conversation's timeline event that tells the change (`conversation.*`,
    /// `contact.*` but `created`/`erased`).
    pub event_id: Option<EventId>,
    /// The agent who made the change; none when the customer or the system did.
    pub actor_id: Option<AgentId>,
    /// The incident proposed (`incident.*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<crate::model::IncidentId>,
}

impl Change {
    /// A change about nothing yet, with no cursor (the feed sets it): the caller names
    /// what it is about.
    pub fn new(id: String, kind: ChangeType, at: DateTime<Utc>) -> Self {
        Self {
            id,
            cursor: String::new(),
            kind,
            at,
            conversation_id: None,
            contact_id: None,
            message_id: None,
            note_id: None,
            event_id: None,
            actor_id: None,
            incident_id: None,
        }
    }

    /// A ping of a webhook subscription at `now`: about nothing, never in the log.
    pub fn ping(now: DateTime<Utc>) -> Self {
        let id = format!(
            "ping_{}",
            super::next_ulid().to_string().to_ascii_lowercase()
        );
        Self::new(id, ChangeType::WebhookPing, now)
    }

    /// What the change is about: its conversation, else its contact.
    pub fn subject(&self) -> Option<String> {
        self.conversation_id
            .map(|c| c.to_string())
            .or_else(|| self.contact_id.map(|c| c.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventKind;

    #[test]
    fn every_type_reads_back_from_its_name_and_serializes_as_it() {
        for kind in ChangeType::ALL {
            assert_eq!(kind.as_str().parse::<ChangeType>(), Ok(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.as_str().to_owned())
            );
        }
        assert!("message.sent".parse::<ChangeType>().is_err());
    }

    #[test]
    fn every_timeline_event_has_a_type() {
        let agent = AgentId::new();
        let kinds = [
            EventKind::Created,
            EventKind::Assigned {
                from: None,
                to: Some(agent),
            },
            EventKind::Reopened,
            EventKind::StatusChanged {
                from: crate::model::ConversationStatus::Open,
                to: crate::model::ConversationStatus::Resolved,
            },
            EventKind::Snoozed { until: Utc::now() },
            EventKind::PriorityChanged {
                from: crate::model::Priority::Normal,
                to: crate::model::Priority::High,
            },
            EventKind::TeamChanged {
                from: None,
                to: None,
            },
            EventKind::TagsChanged {
                added: vec![],
                removed: vec![],
            },
            EventKind::ContactsMerged {
                survivor: ContactId::new(),
                absorbed: ContactId::new(),
            },
            EventKind::ConversationFolded {
                from: ConversationId::new(),
            },
            EventKind::ChannelBlocked {
                channel: crate::model::Channel::Telegram,
            },
            EventKind::ChannelUnblocked {
                channel: crate::model::Channel::Telegram,
            },
            EventKind::MergeSuggested {
                other_contact_id: ContactId::new(),
                identity: crate::model::Identity::telegram(7),
            },
            EventKind::IdentityProven {
                identity: crate::model::Identity::telegram(7),
            },
            EventKind::SlaBreached {
                target: crate::model::SlaTarget::FirstResponse,
                due_at: Utc::now(),
            },
            EventKind::SlaDueSoon {
                target: crate::model::SlaTarget::Resolution,
                due_at: Utc::now(),
            },
            EventKind::RuleApplied {
                rule_id: crate::model::RuleId::new(),
                rule_name: "Payments".into(),
            },
            EventKind::RuleNote {
                text: "Card payments are down".into(),
            },
            EventKind::AgentsCalled {
                agent_ids: vec![AgentId::new()],
                rule_name: "Payments".into(),
            },
            EventKind::SlaPolicyApplied {
                sla_policy_id: crate::model::SlaPolicyId::new(),
            },
            EventKind::SurveySent {
                number: 1,
                channel: crate::model::Channel::Sms,
            },
            EventKind::CsatRated {
                number: 1,
                rating: 4,
                nps: None,
                comment: None,
            },
            EventKind::IncidentLinked {
                incident_id: crate::model::IncidentId::new(),
                title: "Card gateway down".into(),
            },
            EventKind::IncidentUnlinked {
                incident_id: crate::model::IncidentId::new(),
            },
        ];
        for kind in kinds {
            let value = serde_json::to_value(&kind).unwrap();
            let tag = value["type"].as_str().unwrap();
            assert!(
                ChangeType::of_event_tag(tag).is_some(),
                "no type for the event {tag}"
            );
        }
    }
}
