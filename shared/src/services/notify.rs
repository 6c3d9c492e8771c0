//! Agents told on Telegram (and by email, if they choose) what needs them: linking an
//! agent's chat with a one-time code, what each chose to hear about, and the notifier,
//! which reads the event log and sends each agent at most one message a pass on each way
//! (a digest when several things happened), so an outage that brings a thousand messages
//! brings each agent one message a pass, not a thousand.
//!
//! Delivery is at most once: a pass saves its place in the log before sending, and a
//! message Telegram refuses is logged, not retried. A notification that goes missing
//! leaves the conversation waiting in the inbox, where it was anyway.

use super::directory::every_agent;
use super::error::ServiceResult;
use crate::model::TelegramLink;
use crate::model::{
    Agent, AgentId, AgentNotifications, Change, ChangeType, Conversation, ConversationId,
    EventKind, LinkCode, Notice, NoticeKind, NoticePrefs, mention_handles, mentioned,
    notice_digest,
};
use crate::ports::{
    AgentMailer, AgentMessenger, AgentStore, ConversationStore, EventFeed, NoticeStore, PortResult,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Where the notifier's place in the log is kept.
const NAME: &str = "notify";
/// Log entries one read hands the notifier.
const BATCH: usize = 100;
/// Reads of the log one pass makes at most (5,000 entries); the rest waits a pass.
pub const PASS_BATCHES: usize = 50;

/// An agent's notification settings as they see them.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NotificationsView {
    /// What they hear about.
    pub prefs: NoticePrefs,
    /// When their Telegram chat was linked; none while it is not.
    pub telegram_linked_at: Option<DateTime<Utc>>,
    /// Until when the last link code they asked for may be sent to the bot.
    pub link_code_expires_at: Option<DateTime<Utc>>,
}

impl NotificationsView {
    fn of(n: &AgentNotifications) -> Self {
        Self {
            prefs: n.prefs,
            telegram_linked_at: n.telegram.as_ref().map(|t| t.linked_at),
            link_code_expires_at: n.pending.as_ref().map(|p| p.expires_at),
        }
    }
}

/// A link code to send to the bot.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LinkStarted {
    /// Send this to the bot, as it is (`/start <code>`).
    pub command: String,
    /// The code alone, for a `t.me/<bot>?start=<code>` link.
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// Each agent's own notification settings.
#[derive(Clone)]
pub struct Notifications {
    pub store: Arc<dyn NoticeStore>,
}

impl Notifications {
    async fn of(&self, agent: AgentId) -> PortResult<AgentNotifications> {
        Ok(self
            .store
            .agent_notifications(agent)
            .await?
            .unwrap_or_else(|| AgentNotifications::new(agent)))
    }

    pub async fn view(&self, agent: AgentId) -> ServiceResult<NotificationsView> {
        Ok(NotificationsView::of(&self.of(agent).await?))
    }

    pub async fn set_prefs(
        &self,
        agent: AgentId,
        prefs: NoticePrefs,
    ) -> ServiceResult<NotificationsView> {
        let mut n = self.of(agent).await?;
        n.prefs = prefs;
        self.store.save_agent_notifications(&n).await?;
        Ok(NotificationsView::of(&n))
    }

    /// A fresh code that links the chat it is sent from; it replaces any code before it.
    pub async fn start_link(
        &self,
        agent: AgentId,
        now: DateTime<Utc>,
    ) -> ServiceResult<LinkStarted> {
        let mut n = self.of(agent).await?;
        let code = LinkCode::new(agent);
        let expires_at = n.expect(&code, now);
        self.store.save_agent_notifications(&n).await?;
        tracing::info!(agent_id = %agent, "a Telegram link code made");
        Ok(LinkStarted {
            command: format!("/start {}", code.as_text()),
            code: code.as_text(),
            expires_at,
        })
    }

    /// The agent's chat hears nothing more; a code waiting is void too.
    pub async fn unlink(&self, agent: AgentId) -> ServiceResult<NotificationsView> {
        let mut n = self.of(agent).await?;
        n.telegram = None;
        n.pending = None;
        self.store.save_agent_notifications(&n).await?;
        Ok(NotificationsView::of(&n))
    }

    /// Links the chat that sent `code` to the bot; the agent it links, or none when the
    /// code is not one waiting (wrong, used, stale).
    pub async fn link(
        &self,
        code: &LinkCode,
        chat_id: i64,
        at: DateTime<Utc>,
    ) -> PortResult<Option<AgentId>> {
        let Some(mut n) = self.store.agent_notifications(code.agent_id).await? else {
            return Ok(None);
        };
        let before: Option<TelegramLink> = n.telegram.clone();
        if !n.link(code, chat_id, at) {
            return Ok(None);
        }
        if n.telegram != before {
            self.store.save_agent_notifications(&n).await?;
        }
        Ok(Some(code.agent_id))
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Log entries read.
    pub changes: usize,
    /// Messages sent (one per agent and way at most).
    pub sent: usize,
}

/// Reads the log and tells agents, one message each per pass.
#[derive(Clone)]
pub struct Notifier {
    pub feed: Arc<dyn EventFeed>,
    pub conversations: Arc<dyn ConversationStore>,
    pub agents: Arc<dyn AgentStore>,
    pub notices: Arc<dyn NoticeStore>,
    /// The Telegram bot, when there is one.
    pub messenger: Option<Arc<dyn AgentMessenger>>,
    /// Email, when replies can go by email.
    pub mailer: Option<Arc<dyn AgentMailer>>,
}

/// What a pass reads once and keeps: conversations, the agents, their settings.
#[derive(Default)]
struct Seen {
    conversations: HashMap<ConversationId, Option<Conversation>>,
    agents: Option<Vec<Agent>>,
    settings: HashMap<AgentId, Option<AgentNotifications>>,
}

impl Notifier {
    /// Everything the log told since the last pass (at most `max_batches` reads of it),
    /// told to the agents it concerns.
    pub async fn pass(&self, max_batches: usize) -> ServiceResult<Pass> {
        let from = match self.feed.consumer_position(NAME).await? {
            Some(at) => at,
            None => {
                // Met for the first time: what happens from now on.
                let at = self.feed.latest_cursor().await?;
                self.feed.save_consumer_position(NAME, &at).await?;
                return Ok(Pass::default());
            }
        };
        let mut position = from;
        let mut notices = Vec::new();
        let mut seen = Seen::default();
        let mut pass = Pass::default();
        for _ in 0..max_batches {
            let changes = self.feed.changes_after(Some(&position), BATCH).await?;
            let Some(last) = changes.last() else { break };
            position = last.cursor.clone();
            pass.changes += changes.len();
            for change in &changes {
                self.notices_of(change, &mut seen, &mut notices).await?;
            }
            if changes.len() < BATCH {
                break;
            }
        }
        if pass.changes == 0 {
            return Ok(pass);
        }
        // Its place first: a pass that fails while sending (or runs beside another)
        // sends nothing twice.
        self.feed.save_consumer_position(NAME, &position).await?;
        pass.sent = self.tell(&notices, &mut seen).await?;
        Ok(pass)
    }

    /// One message per agent and way they are told: the notices they chose, as one text.
    async fn tell(&self, notices: &[Notice], seen: &mut Seen) -> ServiceResult<usize> {
        let mut by_agent: BTreeMap<AgentId, Vec<Notice>> = BTreeMap::new();
        for notice in notices {
            by_agent
                .entry(notice.agent_id)
                .or_default()
                .push(notice.clone());
        }
        let mut sent = 0;
        for (agent, notices) in by_agent {
            let Some(settings) = self.settings(agent, seen).await? else {
                continue;
            };
            let wanted: Vec<Notice> = notices
                .into_iter()
                .filter(|n| settings.wants(n.kind))
                .collect();
            let Some(text) = notice_digest(&wanted) else {
                continue;
            };
            if let (Some(chat_id), Some(messenger)) = (settings.chat(), &self.messenger) {
                match messenger.tell(chat_id, &text).await {
                    Ok(()) => sent += 1,
                    Err(e) => {
                        tracing::warn!(agent_id = %agent, error = %e, "a Telegram notification was not sent");
                    }
                }
            }
            if let (true, Some(mailer)) = (settings.prefs.email, &self.mailer) {
                let address = self
                    .all_agents(seen)
                    .await?
                    .iter()
                    .find(|a| a.id == agent)
                    .map(|a| a.email.clone());
                let Some(address) = address else { continue };
                let subject = text.lines().next().unwrap_or("Switchboard").to_owned();
                match mailer.mail(&address, &subject, &text).await {
                    Ok(()) => sent += 1,
                    Err(e) => {
                        tracing::warn!(agent_id = %agent, error = %e, "an email notification was not sent");
                    }
                }
            }
        }
        Ok(sent)
    }

    async fn settings(
        &self,
        agent: AgentId,
        seen: &mut Seen,
    ) -> PortResult<Option<AgentNotifications>> {
        if let Some(known) = seen.settings.get(&agent) {
            return Ok(known.clone());
        }
        let read = self.notices.agent_notifications(agent).await?;
        seen.settings.insert(agent, read.clone());
        Ok(read)
    }

    async fn conversation(
        &self,
        id: ConversationId,
        seen: &mut Seen,
    ) -> PortResult<Option<Conversation>> {
        if let Some(known) = seen.conversations.get(&id) {
            return Ok(known.clone());
        }
        let read = self.conversations.conversation(id).await?;
        seen.conversations.insert(id, read.clone());
        Ok(read)
    }

    async fn all_agents<'a>(&self, seen: &'a mut Seen) -> PortResult<&'a [Agent]> {
        if seen.agents.is_none() {
            seen.agents = Some(every_agent(self.agents.as_ref()).await?);
        }
        Ok(seen.agents.as_deref().unwrap_or_default())
    }

    /// Who `change` concerns, and how.
    async fn notices_of(
        &self,
        change: &Change,
        seen: &mut Seen,
        out: &mut Vec<Notice>,
    ) -> PortResult<()> {
        let Some(id) = change.conversation_id else {
            return Ok(());
        };
        let kind = match change.kind {
            ChangeType::MessageReceived => NoticeKind::Message,
            ChangeType::ConversationAssigned => NoticeKind::Assigned,
            ChangeType::ConversationSlaBreached => NoticeKind::SlaBreached,
            ChangeType::ConversationSlaDueSoon => NoticeKind::SlaDueSoon,
            ChangeType::NoteAdded => NoticeKind::Mentioned,
            ChangeType::ConversationAgentsCalled => NoticeKind::Called,
            _ => return Ok(()),
        };
        let Some(conversation) = self.conversation(id, seen).await? else {
            return Ok(());
        };
        let notice = |agent_id: AgentId, by: Option<String>| Notice {
            agent_id,
            kind,
            conversation_id: id,
            priority: conversation.priority,
            by,
        };
        match kind {
            NoticeKind::Called => {
                let Some(event_id) = change.event_id else {
                    return Ok(());
                };
                if let Some(EventKind::AgentsCalled {
                    agent_ids,
                    rule_name,
                }) = self
                    .conversations
                    .event(id, event_id)
                    .await?
                    .map(|e| e.kind)
                {
                    out.extend(
                        agent_ids
                            .into_iter()
                            .map(|a| notice(a, Some(rule_name.clone()))),
                    );
                }
            }
            NoticeKind::Message => {
                out.extend(conversation.assignee_id.map(|a| notice(a, None)));
            }
            NoticeKind::Assigned => {
                let Some(event_id) = change.event_id else {
                    return Ok(());
                };
                let to = match self.conversations.event(id, event_id).await? {
                    Some(event) => match event.kind {
                        EventKind::Assigned { to, .. } => to,
                        _ => None,
                    },
                    None => None,
                };
                // Nobody is told of what they did themselves.
                out.extend(
                    to.filter(|a| change.actor_id != Some(*a))
                        .map(|a| notice(a, None)),
                );
            }
            NoticeKind::SlaBreached | NoticeKind::SlaDueSoon => match conversation.assignee_id {
                Some(agent) => out.push(notice(agent, None)),
                // Nobody's yet: the team it waits in hears of it.
                None => {
                    if let Some(team) = conversation.team_id {
                        let members: Vec<AgentId> = self
                            .all_agents(seen)
                            .await?
                            .iter()
                            .filter(|a| a.team_ids.contains(&team))
                            .map(|a| a.id)
                            .collect();
                        out.extend(members.into_iter().map(|a| notice(a, None)));
                    }
                }
            },
            NoticeKind::Mentioned => {
                let Some(note_id) = change.note_id else {
                    return Ok(());
                };
                let Some(note) = self.conversations.note(id, note_id).await? else {
                    return Ok(());
                };
                let agents = self.all_agents(seen).await?;
                let handles: Vec<(AgentId, Vec<String>)> = agents
                    .iter()
                    .map(|a| (a.id, mention_handles(&a.name, a.email.as_str())))
                    .collect();
                let author = agents
                    .iter()
                    .find(|a| a.id == note.author_id)
                    .map(|a| a.name.clone());
                for agent in mentioned(&note.text, &handles) {
                    if *agent != note.author_id {
                        out.push(notice(*agent, author.clone()));
                    }
                }
            }
        }
        Ok(())
    }
}
