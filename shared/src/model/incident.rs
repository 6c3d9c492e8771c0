//! Incidents: one outage (a bank gateway down, the internet cut) that many customers write
//! about at once, handled as one. Conversations about it are linked to it; one update
//! answers them all, each on the channel its customer last used.

use super::rule::normalize_text;
use super::{AgentId, Channel, ConversationId, IncidentId, IncidentUpdateId, normalize_tag};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most terms (and most tags) one incident matches on.
pub const MAX_INCIDENT_TERMS: usize = 50;
const MAX_TITLE_CHARS: usize = 200;
/// What customers are told fits an SMS or two.
const MAX_STATUS_CHARS: usize = 1000;
const MAX_TERM_CHARS: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    /// Noticed in a burst of messages, waiting for someone to accept it.
    Proposed,
    /// Declared or accepted: matching conversations are linked as they come.
    Active,
    Resolved,
}

super::conversation::str_enum!(IncidentState { Proposed => "proposed", Active => "active", Resolved => "resolved" });

/// Which conversations belong to an incident.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IncidentMatch {
    /// Words or phrases; a customer's message holding any of them matches (compared as
    /// the rules compare words: Arabic and Persian letter variants, digits and case made
    /// alike).
    #[serde(default)]
    pub terms: Vec<String>,
    /// Conversation tags; a conversation carrying any of them matches.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Only messages on these channels; every channel when empty.
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// Only messages from this time on.
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
    /// Only messages until this time.
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
}

impl IncidentMatch {
    /// The same, made comparable: terms normalized and trimmed, tags as stored.
    pub fn normalized(&self) -> Self {
        let mut terms: Vec<String> = self
            .terms
            .iter()
            .map(|t| normalize_text(t.trim()))
            .filter(|t| !t.is_empty())
            .collect();
        terms.sort();
        terms.dedup();
        let mut tags: Vec<String> = self.tags.iter().filter_map(|t| normalize_tag(t)).collect();
        tags.sort();
        tags.dedup();
        let mut channels = self.channels.clone();
        channels.sort();
        channels.dedup();
        Self {
            terms,
            tags,
            channels,
            since: self.since,
            until: self.until,
        }
    }

    /// Whether it links anything by itself (an incident without terms or tags only
    /// holds what agents link by hand).
    pub fn links_automatically(&self) -> bool {
        !self.terms.is_empty() || !self.tags.is_empty()
    }

    /// Whether a customer's message matches: `text` as [`normalize_text`] leaves it, on
    /// `channel` at `at`, in a conversation tagged `tags`.
    pub fn matches(
        &self,
        text: &str,
        channel: Channel,
        tags: &[String],
        at: DateTime<Utc>,
    ) -> bool {
        self.links_automatically()
            && (self.channels.is_empty() || self.channels.contains(&channel))
            && self.since.is_none_or(|s| at >= s)
            && self.until.is_none_or(|u| at <= u)
            && (self.terms.iter().any(|t| text.contains(t.as_str()))
                || self.tags.iter().any(|t| tags.contains(t)))
    }

    /// Whether a customer's last message (as [`normalize_text`] leaves it), in a
    /// conversation tagged `tags`, is about the incident and nothing more: it holds one
    /// of the terms, or the conversation one of the tags. Everything is, for an incident
    /// that names neither.
    pub fn concerns(&self, text: &str, tags: &[String]) -> bool {
        !self.links_automatically()
            || self.terms.iter().any(|t| text.contains(t.as_str()))
            || self.tags.iter().any(|t| tags.contains(t))
    }

    fn problem(&self) -> Option<String> {
        if self.terms.len() > MAX_INCIDENT_TERMS || self.tags.len() > MAX_INCIDENT_TERMS {
            return Some(format!(
                "at most {MAX_INCIDENT_TERMS} terms and {MAX_INCIDENT_TERMS} tags"
            ));
        }
        if let Some(term) = self
            .terms
            .iter()
            .find(|t| t.trim().chars().count() < 3 || t.chars().count() > MAX_TERM_CHARS)
        {
            return Some(format!(
                "the term `{term}` must be 3 to {MAX_TERM_CHARS} characters"
            ));
        }
        if let Some(tag) = self.tags.iter().find(|t| normalize_tag(t).is_none()) {
            return Some(format!(
                "the tag `{tag}` must be 1–50 letters, digits, `-`, `_` or `:`"
            ));
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && until <= since
        {
            return Some("`until` must come after `since`".into());
        }
        None
    }
}

/// One outage, and what customers are told about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Incident {
    pub id: IncidentId,
    pub title: String,
    /// What customers are told, by language (ISO 639-1: `en`, `fa`): each customer gets
    /// the one in their message's language, else the first.
    pub status_text: BTreeMap<String, String>,
    #[serde(rename = "match")]
    pub matching: IncidentMatch,
    pub state: IncidentState,
    /// The agent who declared or accepted it; none while only proposed.
    pub declared_by: Option<AgentId>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Conversations linked now, by the channel their customer last wrote on when linked.
    #[serde(default)]
    pub linked: BTreeMap<Channel, u32>,
    /// Bumped on every change; stores use it for optimistic concurrency.
    #[serde(default)]
    pub version: u64,
}

impl Incident {
    /// Why it cannot be saved as it stands, if anything.
    pub fn problem(&self) -> Option<String> {
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            return Some(format!(
                "the title must be 1 to {MAX_TITLE_CHARS} characters"
            ));
        }
        if self.status_text.is_empty() {
            return Some(
                "give the status text customers are told, in at least one language".into(),
            );
        }
        for (language, text) in &self.status_text {
            if !super::is_known_language(language) {
                return Some(format!(
                    "`{language}` is not a language code Switchboard knows"
                ));
            }
            if text.trim().is_empty() || text.chars().count() > MAX_STATUS_CHARS {
                return Some(format!(
                    "the `{language}` status text must be 1 to {MAX_STATUS_CHARS} characters"
                ));
            }
        }
        self.matching.problem()
    }

    pub fn is_active(&self) -> bool {
        self.state == IncidentState::Active
    }

    /// Linked conversations in all.
    pub fn linked_total(&self) -> u32 {
        self.linked.values().sum()
    }
}

/// The status text for a customer who wrote `customer_text`: in its language when the
/// incident has one for it, else the first.
pub fn status_text_for<'a>(
    texts: &'a BTreeMap<String, String>,
    customer_text: &str,
) -> Option<&'a str> {
    let languages: Vec<String> = texts.keys().cloned().collect();
    super::detect_language(customer_text, &languages)
        .and_then(|l| texts.get(&l))
        .or_else(|| texts.values().next())
        .map(String::as_str)
}

/// A conversation linked to an incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IncidentLink {
    pub incident_id: IncidentId,
    pub conversation_id: ConversationId,
    /// The channel its customer last wrote on when it was linked.
    pub channel: Channel,
    pub linked_at: DateTime<Utc>,
    /// The agent who linked it by hand; none when it matched.
    pub linked_by: Option<AgentId>,
    /// The customer was sent the status text (once per incident).
    pub acknowledged: bool,
}

/// How far an update has gone out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpdateProgress {
    /// Replies written into linked conversations' timelines.
    pub queued: u32,
    /// Taken by the channel (or shown on the customer page).
    pub sent: u32,
    /// Refused by the channel, or the customer cannot be reached on it.
    pub failed: u32,
    /// Every linked conversation has its reply written.
    pub fanned_out: bool,
}

impl UpdateProgress {
    /// Written and not yet taken or refused.
    pub fn pending(&self) -> u32 {
        self.queued.saturating_sub(self.sent + self.failed)
    }
}

/// Which linked conversations a final update resolves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResolveScope {
    /// Those whose customer's last message matched the incident; the rest stay open,
    /// as the customer asked something beyond it.
    #[default]
    Matched,
    /// Every linked conversation.
    All,
}

/// One update posted to everyone linked to an incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IncidentUpdate {
    pub id: IncidentUpdateId,
    pub incident_id: IncidentId,
    pub text: String,
    pub author_id: AgentId,
    pub created_at: DateTime<Utc>,
    /// The final update: the incident is resolved with it, and so are the linked
    /// conversations `resolve` names.
    pub resolves: Option<ResolveScope>,
    #[serde(default)]
    pub progress: UpdateProgress,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_760_000_000 + minute * 60, 0).unwrap()
    }

    #[test]
    fn terms_match_persian_written_with_arabic_letters_and_digits() {
        let m = IncidentMatch {
            terms: vec!["درگاه پرداخت".into(), " Payment FAILED ".into()],
            ..Default::default()
        }
        .normalized();
        let text = |t: &str| normalize_text(t);
        assert!(m.matches(
            &text("درگاه پرداخت كار نمي‌كند"),
            Channel::Telegram,
            &[],
            at(0)
        ));
        assert!(m.matches(&text("My payment failed twice"), Channel::Email, &[], at(0)));
        assert!(!m.matches(&text("where is my parcel"), Channel::Email, &[], at(0)));
    }

    #[test]
    fn channels_window_and_tags_narrow_it() {
        let m = IncidentMatch {
            terms: vec!["gateway".into()],
            tags: vec!["Outage".into()],
            channels: vec![Channel::Sms, Channel::Email],
            since: Some(at(0)),
            until: Some(at(60)),
        }
        .normalized();
        assert!(m.matches("gateway down", Channel::Sms, &[], at(1)));
        assert!(!m.matches("gateway down", Channel::Telegram, &[], at(1)));
        assert!(!m.matches("gateway down", Channel::Sms, &[], at(61)));
        assert!(!m.matches("gateway down", Channel::Sms, &[], at(-1)));
        assert!(m.matches("hello", Channel::Email, &["outage".into()], at(5)));
        let manual = IncidentMatch::default();
        assert!(!manual.matches("anything", Channel::Sms, &[], at(1)));
    }

    #[test]
    fn a_customer_is_told_in_their_language_else_the_first() {
        let texts = BTreeMap::from([
            ("en".to_owned(), "Card payments are down.".to_owned()),
            ("fa".to_owned(), "پرداخت با کارت قطع است.".to_owned()),
        ]);
        assert_eq!(
            status_text_for(&texts, "سلام، پرداخت من انجام نشد"),
            Some("پرداخت با کارت قطع است.")
        );
        assert_eq!(
            status_text_for(&texts, "my card was charged twice"),
            Some("Card payments are down.")
        );
        assert_eq!(
            status_text_for(&texts, "42"),
            Some("Card payments are down.")
        );
    }

    #[test]
    fn bad_incidents_are_refused_with_a_reason() {
        let good = Incident {
            id: IncidentId::new(),
            title: "Card gateway down".into(),
            status_text: BTreeMap::from([("en".into(), "We know.".into())]),
            matching: IncidentMatch::default(),
            state: IncidentState::Active,
            declared_by: None,
            created_at: at(0),
            resolved_at: None,
            linked: BTreeMap::new(),
            version: 0,
        };
        assert_eq!(good.problem(), None);
        let bad = [
            Incident {
                title: " ".into(),
                ..good.clone()
            },
            Incident {
                status_text: BTreeMap::new(),
                ..good.clone()
            },
            Incident {
                status_text: BTreeMap::from([("xx".into(), "a".into())]),
                ..good.clone()
            },
            Incident {
                matching: IncidentMatch {
                    terms: vec!["a".into()],
                    ..Default::default()
                },
                ..good.clone()
            },
            Incident {
                matching: IncidentMatch {
                    tags: vec!["two words".into()],
                    ..Default::default()
                },
                ..good.clone()
            },
            Incident {
                matching: IncidentMatch {
                    since: Some(at(5)),
                    until: Some(at(1)),
                    ..Default::default()
                },
                ..good.clone()
            },
        ];
        for incident in bad {
            assert!(incident.problem().is_some(), "{incident:?}");
        }
    }
}
