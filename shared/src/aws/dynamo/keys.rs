//! Key values of the table layout in the module docs, made in one place.

use crate::model::{AgentId, ContactId, ConversationId, ConversationStatus, MessageId, TeamId};
use chrono::{DateTime, Utc};
use ulid::Ulid;

/// The sort key of an item that is the partition's entity itself.
pub const META: &str = "#META";
/// Beside an agent: the hash of their current API key.
pub const CURRENT_KEY: &str = "#KEY";
pub const PROVEN: &str = "#PROVEN";
/// Beside a customer page's proofs: the tries counted under one key.
pub const TRIES: &str = "#TRIES";
pub const HEAD: &str = "#HEAD";
/// Timeline sort keys start with this; nothing else in a conversation's partition does.
pub const TIMELINE: &str = "TL#";
/// A customer-page link's own partition starts with this, and so does its pointer's
/// sort key in the conversation it is bound to.
pub const LINK: &str = "LINK#";
pub const CONTACTS: &str = "CONTACTS";
/// The partition of the tombstones erasures leave.
pub const ERASURES: &str = "ERASURES";
/// Every incident, one item each (`sk=<id>`).
pub const INCIDENTS: &str = "INCIDENTS";
pub const AGENTS: &str = "AGENTS";
/// The partition of gsi1 that lists browser sessions, newest first.
pub const SESSIONS: &str = "SESSIONS";
/// The agent's password and wrong tries, beside their item.
pub const PASSWORD: &str = "#PASSWORD";
pub const TEAMS: &str = "TEAMS";
/// The partition of every webhook subscription.
pub const WEBHOOKS: &str = "WEBHOOKS";
/// The partitions of every calendar and every SLA policy.
pub const CALENDARS: &str = "CALENDARS";
pub const SLA_POLICIES: &str = "SLAPOLICIES";
/// The partitions of every routing rule, canned reply and macro.
pub const RULES: &str = "RULES";
pub const CANNED: &str = "CANNED";
pub const MACROS: &str = "MACROS";
/// The partition of every help-center article (`sk=<id>`, its revision in `revision`);
/// each article's revisions are kept under `AR#<id>` (`sk=REV#<revision, 10 digits>`).
pub const ARTICLES: &str = "ARTICLES";
pub const ARTICLE: &str = "AR#";
/// The knowledge base's counters of one day: `KBCOUNT#<yyyy-mm-dd>`.
pub const KNOWLEDGE_COUNTS: &str = "KBCOUNT#";
/// Each agent's notification settings, `sk=<agent id>`.
pub const NOTICES: &str = "NOTICES";
/// Where each `idle` rule's timer stopped reading.
pub const TIMERS: &str = "TIMERS";
/// Beside a conversation: its service-level clocks.
pub const SLA: &str = "#SLA";
/// Beside a conversation: where it stands for reporting.
pub const REPORT: &str = "#REPORT";
/// Beside a conversation: its latest satisfaction survey.
pub const SURVEY: &str = "#SURVEY";
/// Beside a contact: when they were last surveyed.
pub const SURVEYED: &str = "#SURVEYED";
/// The survey settings.
pub const SURVEY_SETTINGS: &str = "SURVEYS";
/// The key survey tokens are signed with.
pub const SURVEY_KEY: &str = "SURVEYKEY";
/// Every tag the reports have counted, as one string set.
pub const REPORT_TAGS: &str = "RPTTAGS";
/// The index partitions of conversations' clocks by due time (gsi1) and by when the
/// sweeper must next look (gsi2).
pub const SLA_DUE: &str = "SLADUE";
pub const SLA_WAKE: &str = "SLAWAKE";

/// The partition of a reporting dimension's counters of one grain: per half hour
/// (`RPT#`) or per UTC day (`RPTD#`).
pub fn report_counters(dimension: &str, grain: crate::model::Grain) -> String {
    match grain {
        crate::model::Grain::HalfHour => format!("RPT#{dimension}"),
        crate::model::Grain::Day => format!("RPTD#{dimension}"),
    }
}

/// A counter's sort key: its half hour, then its metric.
pub fn report_counter(bucket: i64, metric: &str) -> String {
    format!("{:012}#{metric}", bucket.max(0))
}

/// The survey a phone number's bare rating answers.
pub fn survey_wait(identity_key: &str) -> String {
    format!("SURVEYWAIT#{identity_key}")
}

pub fn conversation(id: ConversationId) -> String {
    format!("CV#{id}")
}

pub fn timeline(id: Ulid) -> String {
    format!("{TIMELINE}{id}")
}

pub fn message(id: MessageId) -> String {
    format!("MSG#{id}")
}

pub fn source(source_id: &str) -> String {
    format!("SRC#{source_id}")
}

/// A reply of ours, by the id its provider gave it.
pub fn provider(provider_id: &str) -> String {
    format!("PROV#{provider_id}")
}

pub fn contact(id: ContactId) -> String {
    format!("CT#{id}")
}

pub fn identity(key: &str) -> String {
    format!("ID#{key}")
}

/// A day's pages of the event log.
pub fn feed_day(day: chrono::NaiveDate) -> String {
    format!("FEED#{}", day.format("%Y-%m-%d"))
}

/// Where a consumer of the event log got to.
pub fn feed_position(name: &str) -> String {
    format!("FEEDPOS#{name}")
}

/// A setting of the installation (`SettingStore`).
pub fn setting(name: &str) -> String {
    format!("SET#{name}")
}

/// What an idempotency key (by its digest) was first used for.
pub fn idempotency(digest: &str) -> String {
    format!("IDEM#{digest}")
}

/// A pending proof of an address, by the digest of its secret.
pub fn proof(digest: &str) -> String {
    format!("CONFIRM#{digest}")
}

pub fn link(hash: &str) -> String {
    format!("LINK#{hash}")
}

/// The digest of an erased message's source id: a redelivery of it stores nothing.
pub fn erased_source(digest: &str) -> String {
    format!("ERASED#{digest}")
}

pub fn agent(id: AgentId) -> String {
    format!("AG#{id}")
}

pub fn session(id: &str) -> String {
    format!("SESSION#{id}")
}

pub fn api_key(hash: &str) -> String {
    format!("KEY#{hash}")
}

pub fn agent_email(email: &str) -> String {
    format!("AGEMAIL#{email}")
}

pub fn team(id: TeamId) -> String {
    format!("TM#{id}")
}

pub fn team_name(name: &str) -> String {
    format!("TMNAME#{}", name.to_lowercase())
}

pub fn round_robin(team: Option<TeamId>) -> String {
    format!(
        "RR#{}",
        team.map_or_else(|| "-".to_owned(), |t| t.to_string())
    )
}

pub fn status(status: ConversationStatus) -> String {
    format!("ST#{}", status.as_str())
}

/// Conversations of one assignee (or of nobody), unresolved (`u`) or resolved (`r`).
pub fn assignee(agent: Option<AgentId>, resolved: bool) -> String {
    format!(
        "AS#{}#{}",
        agent.map_or_else(|| "-".to_owned(), |a| a.to_string()),
        if resolved { 'r' } else { 'u' }
    )
}

pub fn contact_conversations(contact: ContactId) -> String {
    format!("CC#{contact}")
}

/// Orders by time, then id: `<ms, 13 digits>#<id>`.
pub fn by_time(at: DateTime<Utc>, id: &impl std::fmt::Display) -> String {
    format!("{:013}#{id}", at.timestamp_millis().max(0))
}

/// The first letter of a name, lower-cased: the partition of the name-prefix index.
pub fn name_partition(name: &str) -> Option<String> {
    let lower = name.trim().to_lowercase();
    lower.chars().next().map(|c| format!("NAME#{c}"))
}

/// A subscription's sort key in [`WEBHOOKS`].
pub fn webhook(id: crate::model::WebhookId) -> String {
    format!("WH#{id}")
}

pub fn webhook_delivery(id: &str) -> String {
    format!("WHD#{id}")
}

/// The index partition of one subscription's delivery log.
pub fn webhook_log(id: crate::model::WebhookId) -> String {
    format!("WHDL#{id}")
}

/// A delivery's place in its log: when it was made, then its id.
pub fn webhook_log_order(created_ms: i64, id: &str) -> String {
    format!("{created_ms:013}#{id}")
}

/// The index partition of the deliveries about one conversation (else contact).
pub fn webhook_subject(id: &str) -> String {
    format!("WHDS#{id}")
}
