//! Canned replies and macros: kept by admins, found by any agent as they type, filled in
//! for a conversation, and run on one in a single call.

use super::error::{ServiceError, ServiceResult, room_for};
use super::inbox::{ConversationPatch, Inbox, ReplyDraft};
use crate::model::{
    Agent, CannedReply, CannedReplyId, Conversation, ConversationId, Fill, Macro, MacroId,
    MacroStep, Message, normalize_tag,
};
use crate::ports::CannedStore;
use std::sync::Arc;

/// Most canned replies, and most macros, an installation keeps.
pub const MAX_EACH: usize = 1_000;

/// Most canned replies a search answers with.
pub const MAX_FOUND: usize = 50;

#[derive(Clone)]
pub struct Canned {
    pub store: Arc<dyn CannedStore>,
    pub inbox: Inbox,
    /// The rules, some of which may answer with a canned reply.
    pub rules: Arc<dyn crate::ports::RuleStore>,
}

/// What a macro did.
#[derive(Clone, Debug)]
pub struct MacroRun {
    pub conversation: Conversation,
    pub reply: Option<Message>,
}

impl Canned {
    /// The canned replies `query` finds (by short code, title or text), in `language`
    /// (and those for any language) when one is given; by short code, then language.
    pub async fn search(
        &self,
        query: &str,
        language: Option<&str>,
    ) -> ServiceResult<Vec<CannedReply>> {
        let mut found: Vec<CannedReply> = self
            .store
            .canned_replies()
            .await?
            .into_iter()
            .filter(|c| c.matches(query))
            .filter(|c| {
                language.is_none_or(|l| {
                    c.language
                        .as_deref()
                        .is_none_or(|cl| cl.eq_ignore_ascii_case(l))
                })
            })
            .collect();
        found.sort_by(|a, b| {
            (&a.short_code, &a.language, a.id).cmp(&(&b.short_code, &b.language, b.id))
        });
        found.truncate(MAX_FOUND);
        Ok(found)
    }

    /// Keeps a new canned reply, or replaces one (`replacing`: it must exist). A short
    /// code is one reply's per language.
    pub async fn save(&self, reply: CannedReply, replacing: bool) -> ServiceResult<CannedReply> {
        if let Some(problem) = reply.problem() {
            return Err(ServiceError::Invalid(problem));
        }
        let all = self.store.canned_replies().await?;
        let taken = all.iter().any(|c| {
            c.id != reply.id
                && c.short_code.to_lowercase() == reply.short_code.to_lowercase()
                && c.language == reply.language
        });
        if taken {
            return Err(ServiceError::Conflict(format!(
                "the short code {} is taken in that language",
                reply.short_code
            )));
        }
        room_for(
            "canned reply",
            replacing,
            all.iter().any(|c| c.id == reply.id),
            all.len(),
            MAX_EACH,
        )?;
        self.store.save_canned_reply(&reply).await?;
        Ok(reply)
    }

    pub async fn delete(&self, id: CannedReplyId) -> ServiceResult<()> {
        let users: Vec<String> = self
            .store
            .macros()
            .await?
            .into_iter()
            .filter(|m| {
                m.steps.iter().any(
                    |s| matches!(s, MacroStep::Reply { canned_reply_id } if *canned_reply_id == id),
                )
            })
            .map(|m| format!("macro {}", m.name))
            .chain(
                self.rules
                    .rules()
                    .await?
                    .into_iter()
                    .filter(|r| {
                        r.actions.iter().any(|a| {
                            matches!(a, crate::model::Action::SendCanned { canned_reply_id } if *canned_reply_id == id)
                        })
                    })
                    .map(|r| format!("rule {}", r.name)),
            )
            .collect();
        if !users.is_empty() {
            return Err(ServiceError::Conflict(format!(
                "{} send this reply; change them first",
                users.join(", ")
            )));
        }
        match self.store.delete_canned_reply(id).await? {
            true => Ok(()),
            false => Err(ServiceError::NotFound("canned reply")),
        }
    }

    /// The canned reply filled in for `conversation`, as `agent` would send it.
    pub async fn render(
        &self,
        conversation: ConversationId,
        id: CannedReplyId,
        agent: &Agent,
    ) -> ServiceResult<String> {
        let reply = self.canned_reply(id).await?;
        let c = self.inbox.get(conversation).await?;
        let contact = self.inbox.contacts.contact(c.contact_id).await?;
        let id = c.id.to_string();
        Ok(reply.render(&Fill {
            contact_name: contact.as_ref().and_then(|c| c.name.as_deref()),
            conversation_id: &id,
            agent_name: &agent.name,
            agent_email: agent.email.as_str(),
        }))
    }

    pub async fn macros(&self) -> ServiceResult<Vec<Macro>> {
        let mut all = self.store.macros().await?;
        all.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    /// Keeps a new macro, or replaces one (`replacing`: it must exist).
    pub async fn save_macro(&self, m: Macro, replacing: bool) -> ServiceResult<Macro> {
        if let Some(problem) = m.problem() {
            return Err(ServiceError::Invalid(problem));
        }
        let replies = self.store.canned_replies().await?;
        for step in &m.steps {
            match step {
                MacroStep::Reply { canned_reply_id }
                    if !replies.iter().any(|r| r.id == *canned_reply_id) =>
                {
                    return Err(ServiceError::Invalid(format!(
                        "there is no canned reply {canned_reply_id}"
                    )));
                }
                MacroStep::Assign {
                    agent_id: Some(agent),
                } if self.inbox.agents.agent(*agent).await?.is_none() => {
                    return Err(ServiceError::Invalid(format!("there is no agent {agent}")));
                }
                _ => {}
            }
        }
        let all = self.store.macros().await?;
        room_for(
            "macro",
            replacing,
            all.iter().any(|x| x.id == m.id),
            all.len(),
            MAX_EACH,
        )?;
        self.store.save_macro(&m).await?;
        Ok(m)
    }

    pub async fn delete_macro(&self, id: MacroId) -> ServiceResult<()> {
        match self.store.delete_macro(id).await? {
            true => Ok(()),
            false => Err(ServiceError::NotFound("macro")),
        }
    }

    /// Runs the macro on the conversation as `agent`: its reply first, then every
    /// change at once (one version, one event each).
    pub async fn run_macro(
        &self,
        conversation: ConversationId,
        id: MacroId,
        agent: &Agent,
    ) -> ServiceResult<MacroRun> {
        let m = self
            .store
            .macros()
            .await?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or(ServiceError::NotFound("macro"))?;
        let current = self.inbox.get(conversation).await?;
        let mut reply = None;
        let mut patch = ConversationPatch::default();
        let mut changes = false;
        let mut tags = current.tags.clone();
        for step in &m.steps {
            match step {
                MacroStep::Reply { canned_reply_id } => {
                    let text = self.render(conversation, *canned_reply_id, agent).await?;
                    let draft = ReplyDraft {
                        text,
                        ..ReplyDraft::default()
                    };
                    reply = Some(self.inbox.reply(conversation, draft, agent).await?);
                }
                MacroStep::AddTags { tags: more } => {
                    tags.extend(more.iter().filter_map(|t| normalize_tag(t)));
                    tags.sort();
                    tags.dedup();
                    patch.tags = Some(tags.clone());
                    changes = true;
                }
                MacroStep::SetStatus { status } => {
                    patch.status = Some(*status);
                    changes = true;
                }
                MacroStep::SetPriority { priority } => {
                    patch.priority = Some(*priority);
                    changes = true;
                }
                MacroStep::Assign { agent_id } => {
                    patch.assignee_id = Some(Some(agent_id.unwrap_or(agent.id)));
                    changes = true;
                }
            }
        }
        let conversation = match changes {
            true => self.inbox.patch(conversation, patch, agent).await?,
            false => self.inbox.get(conversation).await?,
        };
        tracing::info!(conversation_id = %conversation.id, macro_id = %id, agent_id = %agent.id, "macro run");
        Ok(MacroRun {
            conversation,
            reply,
        })
    }

    async fn canned_reply(&self, id: CannedReplyId) -> ServiceResult<CannedReply> {
        self.store
            .canned_replies()
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(ServiceError::NotFound("canned reply"))
    }
}
