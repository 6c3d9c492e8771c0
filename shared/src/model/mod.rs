//! The domain: what Switchboard knows about customers, conversations and agents.
//! Nothing here knows how it is stored or transported.

mod activity;
mod agent;
pub mod burst;
mod calendar;
mod canned;
mod change;
mod contact;
mod conversation;
mod erasure;
mod identity;
mod ids;
mod inbound;
mod incident;
pub mod knowledge;
mod language;
mod message;
mod notice;
mod report;
mod rule;
mod service_level;
mod sla;
mod solar_hijri;
mod survey;
mod webhook;

pub use activity::{Event, EventKind, Note, TimelineItem};
pub use agent::{
    Agent, AgentLoad, AssignNeed, Assignment, Availability, MAX_LOAD_COUNTED, Role, SKILL_TAG, Team,
};
pub use burst::{Burst, BurstWatch, terms_of};
pub use calendar::BusinessHours;
pub use canned::{CannedReply, Fill, Macro, MacroStep};
pub use change::{Change, ChangeType};
pub use contact::{
    Contact, ContactIdentity, ContactProfile, MAX_CONTACT_TAGS, MAX_MERGE_SUGGESTIONS,
    MergeSuggestion, add_merge_suggestions,
};
pub use conversation::{
    Conversation, ConversationRow, ConversationStatus, Priority, normalize_tag, preview_of,
};
pub use erasure::{Erasure, ErasureReason};
pub use identity::{
    DefaultRegion, EmailAddress, Identity, IdentityKind, InvalidEmail, InvalidPhone, PhoneNumber,
    PresentedIdentity, ascii_digits,
};
pub use ids::{
    AgentId, ArticleId, CalendarId, CannedReplyId, ContactId, ConversationId, ErasureId, EventId,
    IncidentId, IncidentUpdateId, InvalidId, MacroId, MessageId, NoteId, RuleId, SlaPolicyId,
    TeamId, WebhookId, next_ulid,
};
pub use inbound::{
    AgentLinkRequest, BotAnswerTaken, BotOutcome, ChannelSignal, DeliveryReport, Inbound,
    InboundMessage, ProvenAddress, Reachability, ReportKind, ReportedDelivery, SurveyReply,
    ThreadHint, ThreadRef,
};
pub use incident::{
    Incident, IncidentLink, IncidentMatch, IncidentState, IncidentUpdate, MAX_INCIDENT_TERMS,
    ResolveScope, UpdateProgress, status_text_for,
};
pub use knowledge::{Article, ArticleStatus};
pub use language::{detect_language, is_known_language};
pub use message::{
    Attachment, Author, Channel, ContextEntry, DeliveryStatus, Direction, MAX_STORED_CONTEXT_BYTES,
    MAX_STORED_TEXT_BYTES, Message, SourceId, bounded_context, bounded_text,
};
pub use notice::{
    AgentNotifications, LINK_CODE_MINUTES, LinkCode, Notice, NoticeKind, NoticePrefs, TelegramLink,
    digest as notice_digest, handles as mention_handles, mentioned,
};
pub use report::{
    BUCKET_SECS, Count, CountedResolution, DAY_SECS, Dimension, FCR_REOPEN_WINDOW, Fact, Grain,
    Metric, Occurrence, ReportTrack, Snapshot, Tally, bin_of, bin_value,
};
pub use rule::{
    Action, Applied, Condition, Happening, MAX_MESSAGE_COUNT, Rule, RuleSet, TimerPlace, Trigger,
    normalize_text, order as order_rules, run as run_rules,
};
pub use service_level::{
    Announced, Breach, Calendar, ConversationSla, PriorityTargets, SlaPolicy, SlaView, TargetPhase,
    TargetSeconds, TargetView, policy_for,
};
pub use sla::{
    SlaClocks, SlaFact, SlaStatus, SlaTarget, SlaTargets, TargetState, Urgency,
    evaluate as evaluate_sla,
};
pub use solar_hijri::{parse_local_date, solar_hijri, solar_hijri_ymd};
pub use survey::{
    ANSWER_WINDOW, Answered, MAX_COMMENT_CHARS, MAX_QUIET_DAYS, NPS_SCORES, RATINGS, Survey,
    SurveyAnswer, SurveySettings, SurveyTokens, SurveyWords, rating_in_text, survey_words,
};
pub use webhook::{
    AttemptOutcome, MAX_TYPES, Subscription, WebhookDelivery, WebhookDeliveryStatus, delivery_id,
};
