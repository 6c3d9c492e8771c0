//! Telling agents what needs them, on Telegram: what each agent chose to hear about,
//! the chat their account is linked to, the one-time code that links it, and the text of
//! what they are told.
//!
//! A notice names a conversation and what happened to it, never the customer's words or
//! addresses: those stay behind the inbox's sign-in, so a linked chat (or whoever reads
//! the phone it is on) learns no more than that something waits.

use super::{AgentId, ConversationId, Priority};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a link code may be used after it is made.
pub const LINK_CODE_MINUTES: i64 = 15;
/// Lines a notice names one by one; beyond them, a count.
const LISTED: usize = 8;

/// What an agent chose to hear about. Everything, until they say otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticePrefs {
    /// A conversation was assigned to them by someone else (or by a rule).
    pub assigned: bool,
    /// A customer wrote in a conversation assigned to them.
    pub messages: bool,
    /// A service-level target ran out in a conversation of theirs.
    pub sla: bool,
    /// A note mentioned them (`@name`).
    pub mentions: bool,
    /// Told by email too, at their agent address (Telegram needs no choice: a linked
    /// chat is told).
    #[serde(default)]
    pub email: bool,
}

impl Default for NoticePrefs {
    fn default() -> Self {
        Self {
            assigned: true,
            messages: true,
            sla: true,
            mentions: true,
            email: false,
        }
    }
}

/// The Telegram chat an agent linked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramLink {
    pub chat_id: i64,
    pub linked_at: DateTime<Utc>,
    /// The digest of the code that linked it: the same code again (a redelivered
    /// update) links the same chat again, and nothing else.
    pub code_digest: String,
}

/// A link code waiting to be sent to the bot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    pub code_digest: String,
    pub expires_at: DateTime<Utc>,
}

/// One agent's notification settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentNotifications {
    pub agent_id: AgentId,
    #[serde(default)]
    pub prefs: NoticePrefs,
    pub telegram: Option<TelegramLink>,
    pub pending: Option<PendingLink>,
}

impl AgentNotifications {
    pub fn new(agent_id: AgentId) -> Self {
        Self {
            agent_id,
            prefs: NoticePrefs::default(),
            telegram: None,
            pending: None,
        }
    }

    /// Waits for `code` (in place of any code before it) until it goes stale; when that is.
    pub fn expect(&mut self, code: &LinkCode, now: DateTime<Utc>) -> DateTime<Utc> {
        let expires_at = now + chrono::Duration::minutes(LINK_CODE_MINUTES);
        self.pending = Some(PendingLink {
            code_digest: code.digest(),
            expires_at,
        });
        expires_at
    }

    /// Links the chat that sent `code`, when it is the code waiting and still fresh (or
    /// the one that linked this very chat). False, and nothing changes, otherwise.
    pub fn link(&mut self, code: &LinkCode, chat_id: i64, at: DateTime<Utc>) -> bool {
        let digest = code.digest();
        if let Some(linked) = &self.telegram
            && linked.code_digest == digest
        {
            return linked.chat_id == chat_id;
        }
        let waiting = self
            .pending
            .as_ref()
            .is_some_and(|p| p.code_digest == digest && at <= p.expires_at);
        if !waiting {
            return false;
        }
        self.pending = None;
        self.telegram = Some(TelegramLink {
            chat_id,
            linked_at: at,
            code_digest: digest,
        });
        true
    }

    /// Whether the agent hears about `kind` at all.
    pub fn wants(&self, kind: NoticeKind) -> bool {
        match kind {
            NoticeKind::Assigned => self.prefs.assigned,
            NoticeKind::Message => self.prefs.messages,
            NoticeKind::SlaBreached | NoticeKind::SlaDueSoon => self.prefs.sla,
            NoticeKind::Mentioned => self.prefs.mentions,
            // An admin's rule named them: told whatever they chose for the rest.
            NoticeKind::Called => true,
        }
    }

    /// The Telegram chat they are told in, once linked.
    pub fn chat(&self) -> Option<i64> {
        self.telegram.as_ref().map(|t| t.chat_id)
    }
}

/// A one-time code that links an agent's Telegram chat: `/start <code>` to the bot. It
/// names the agent, so checking it is one read, and carries 120 random bits.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkCode {
    pub agent_id: AgentId,
    secret: String,
}

impl std::fmt::Debug for LinkCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkCode")
            .field("agent_id", &self.agent_id)
            .finish_non_exhaustive()
    }
}

const SECRET_LEN: usize = 24;
const SECRET_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

impl LinkCode {
    /// A fresh code for `agent_id`.
    pub fn new(agent_id: AgentId) -> Self {
        use rand::Rng;
        let mut rng = rand::rng();
        let secret = (0..SECRET_LEN)
            .map(|_| char::from(SECRET_ALPHABET[rng.random_range(0..SECRET_ALPHABET.len())]))
            .collect();
        Self { agent_id, secret }
    }

    /// Reads a code as `/start` carries it; none for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let (agent, secret) = text.trim().split_once('-')?;
        let agent_id = agent.parse().ok()?;
        let well_formed =
            secret.len() == SECRET_LEN && secret.bytes().all(|b| SECRET_ALPHABET.contains(&b));
        well_formed.then(|| Self {
            agent_id,
            secret: secret.to_owned(),
        })
    }

    /// What is stored of it.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.as_text().as_bytes()))
    }

    /// The code as the agent sends it (Telegram's deep-link alphabet, at most 64).
    pub fn as_text(&self) -> String {
        format!("{}-{}", self.agent_id, self.secret)
    }
}

/// What an agent is told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NoticeKind {
    /// A rule named them (`by`: the rule's name).
    Called,
    Assigned,
    SlaBreached,
    SlaDueSoon,
    Mentioned,
    Message,
}

/// One thing to tell one agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub agent_id: AgentId,
    pub kind: NoticeKind,
    pub conversation_id: ConversationId,
    pub priority: Priority,
    /// For a mention: who wrote the note (an agent's name); for a call: the rule's name.
    pub by: Option<String>,
}

impl Notice {
    fn line(&self) -> String {
        let what = match self.kind {
            NoticeKind::Called => match &self.by {
                Some(rule) => format!("Rule «{rule}» calls you"),
                None => "A rule calls you".to_owned(),
            },
            NoticeKind::Assigned => "Assigned to you".to_owned(),
            NoticeKind::SlaBreached => "Service level breached".to_owned(),
            NoticeKind::SlaDueSoon => "Service level due soon".to_owned(),
            NoticeKind::Mentioned => match &self.by {
                Some(by) => format!("{by} mentioned you"),
                None => "You were mentioned".to_owned(),
            },
            NoticeKind::Message => "New message".to_owned(),
        };
        let urgent = matches!(self.priority, Priority::High | Priority::Urgent);
        let priority = if urgent {
            format!(" ({})", self.priority.as_str())
        } else {
            String::new()
        };
        format!("{what}: {}{priority}", self.conversation_id)
    }
}

/// The one message an agent gets for everything gathered since the last: a line each
/// while few, then a count of each kind and the conversations they touch. Notices of the
/// same kind about the same conversation are told once.
pub fn digest(notices: &[Notice]) -> Option<String> {
    let mut unique: Vec<&Notice> = Vec::new();
    for notice in notices {
        if !unique
            .iter()
            .any(|n| n.kind == notice.kind && n.conversation_id == notice.conversation_id)
        {
            unique.push(notice);
        }
    }
    unique.sort_by_key(|n| n.kind);
    let first = unique.first()?;
    if unique.len() == 1 {
        return Some(format!("Switchboard · {}", first.line()));
    }
    let mut text = format!("Switchboard · {} updates", unique.len());
    for notice in unique.iter().take(LISTED) {
        text.push_str("\n• ");
        text.push_str(&notice.line());
    }
    if unique.len() > LISTED {
        let rest = &unique[LISTED..];
        let conversations: std::collections::HashSet<_> =
            rest.iter().map(|n| n.conversation_id).collect();
        text.push_str(&format!(
            "\n• and {} more in {} conversation{}",
            rest.len(),
            conversations.len(),
            if conversations.len() == 1 { "" } else { "s" }
        ));
    }
    Some(text)
}

/// The agents a note mentions: `@` and an agent's handle (their email's local part, or
/// their name without spaces), in any case. Each once.
pub fn mentioned<'a>(text: &str, agents: &'a [(AgentId, Vec<String>)]) -> Vec<&'a AgentId> {
    let words: Vec<String> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '!' | '?' | '(' | ')'))
        .filter_map(|w| w.strip_prefix('@'))
        .map(|w| w.trim_end_matches('.').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    agents
        .iter()
        .filter(|(_, handles)| handles.iter().any(|h| words.contains(h)))
        .map(|(id, _)| id)
        .collect()
}

/// The handles a note may mention an agent by.
pub fn handles(name: &str, email: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((local, _)) = email.split_once('@') {
        out.push(local.to_lowercase());
    }
    let joined: String = name.split_whitespace().collect::<String>().to_lowercase();
    if !joined.is_empty() && !out.contains(&joined) {
        out.push(joined);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).expect("a time") + Duration::minutes(minutes)
    }

    fn pending(agent: AgentId, code: &LinkCode, made: DateTime<Utc>) -> AgentNotifications {
        let mut n = AgentNotifications::new(agent);
        assert_eq!(
            n.expect(code, made),
            made + Duration::minutes(LINK_CODE_MINUTES)
        );
        n
    }

    #[test]
    fn a_code_reads_back_and_nothing_else_reads_as_one() {
        let agent = AgentId::new();
        let code = LinkCode::new(agent);
        let text = code.as_text();
        assert!(
            text.len() <= 64,
            "Telegram's start parameter holds 64: {text}"
        );
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );
        assert_eq!(LinkCode::parse(&text), Some(code.clone()));
        assert_ne!(LinkCode::new(agent), code, "codes are random");
        for other in [
            "",
            "ref-42",
            &format!("{agent}-short"),
            &format!("{agent}-{}", "A".repeat(24)),
            &format!("ct_01jd8x3m6k9q0w5e2r7t4y1v3h-{}", "a".repeat(24)),
        ] {
            assert_eq!(LinkCode::parse(other), None, "{other} read as a code");
        }
    }

    #[test]
    fn a_fresh_code_links_once_and_a_stale_or_wrong_one_never() {
        let agent = AgentId::new();
        let code = LinkCode::new(agent);
        let mut stale = pending(agent, &code, at(0));
        assert!(!stale.link(&code, 7, at(LINK_CODE_MINUTES + 1)));
        assert_eq!(stale.telegram, None);

        let mut n = pending(agent, &code, at(0));
        assert!(!n.link(&LinkCode::new(agent), 7, at(1)), "another code");
        assert!(n.link(&code, 7, at(1)));
        assert_eq!(n.telegram.as_ref().map(|t| t.chat_id), Some(7));
        assert_eq!(n.pending, None, "the code is used up");
        // The same update again links the same chat; another chat with it gets nothing.
        assert!(n.link(&code, 7, at(2)));
        assert!(!n.link(&code, 8, at(2)));
        assert_eq!(n.telegram.as_ref().map(|t| t.chat_id), Some(7));
    }

    #[test]
    fn an_agent_hears_only_what_they_chose_and_only_once_linked() {
        let agent = AgentId::new();
        let code = LinkCode::new(agent);
        let mut n = pending(agent, &code, at(0));
        assert_eq!(n.chat(), None, "not linked yet");
        n.link(&code, 42, at(1));
        assert_eq!(n.chat(), Some(42));
        assert!(n.wants(NoticeKind::Assigned) && n.wants(NoticeKind::Message));
        n.prefs.messages = false;
        assert!(!n.wants(NoticeKind::Message));
        assert!(n.wants(NoticeKind::SlaBreached));
        assert!(!n.prefs.email, "email is chosen, never assumed");
    }

    fn notice(kind: NoticeKind, conversation_id: ConversationId) -> Notice {
        Notice {
            agent_id: AgentId::new(),
            kind,
            conversation_id,
            priority: Priority::Normal,
            by: None,
        }
    }

    #[test]
    fn one_notice_is_a_line_and_many_are_one_digest() {
        assert_eq!(digest(&[]), None);
        let cv = ConversationId::new();
        let one = digest(&[Notice {
            priority: Priority::High,
            ..notice(NoticeKind::Assigned, cv)
        }])
        .expect("a text");
        assert_eq!(one, format!("Switchboard · Assigned to you: {cv} (high)"));

        let mut many: Vec<Notice> = (0..300)
            .map(|_| notice(NoticeKind::Message, ConversationId::new()))
            .collect();
        many.push(notice(NoticeKind::SlaBreached, cv));
        many.push(notice(NoticeKind::Message, cv));
        many.push(notice(NoticeKind::Message, cv));
        let text = digest(&many).expect("a text");
        assert!(text.starts_with("Switchboard · 302 updates\n• Service level breached"));
        assert_eq!(text.lines().count(), 1 + LISTED + 1);
        assert!(
            text.ends_with("and 294 more in 294 conversations"),
            "{text}"
        );
        assert!(text.chars().count() < 4096, "one Telegram message");
    }

    #[test]
    fn a_note_mentions_agents_by_handle_in_any_case() {
        let (ana, bo) = (AgentId::new(), AgentId::new());
        let agents = vec![
            (ana, handles("Ana Lima", "ana@support.example")),
            (bo, handles("Bo", "bo.r@support.example")),
        ];
        assert_eq!(mentioned("@Ana, can you look?", &agents), vec![&ana]);
        assert_eq!(
            mentioned("ask @analima and @bo.r.", &agents),
            vec![&ana, &bo]
        );
        assert!(mentioned("mail ana@support.example", &agents).is_empty());
        assert!(mentioned("@anastasia", &agents).is_empty());
    }
}
