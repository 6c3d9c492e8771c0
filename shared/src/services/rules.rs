//! What an admin does with routing rules: keep them (each checked, and everything it
//! names found), and try them on a message without storing anything (the dry run).

use super::error::{ServiceError, ServiceResult, room_for};
use super::route::RuleBook;
use crate::model::{
    Action, AgentId, Channel, Condition, ContactId, ContactProfile, Conversation, ConversationId,
    ConversationStatus, EventKind, Priority, Rule, RuleId, TeamId,
};
use crate::ports::{
    AgentStore, CannedStore, ContactStore, ConversationStore, RuleStore, SlaStore, TeamStore,
};
use chrono::Utc;
use std::sync::Arc;

/// Most rules an installation keeps.
pub const MAX_RULES: usize = 200;

#[derive(Clone)]
pub struct Rules {
    pub rules: Arc<dyn RuleStore>,
    pub calendars: Arc<dyn SlaStore>,
    pub teams: Arc<dyn TeamStore>,
    pub agents: Arc<dyn AgentStore>,
    pub conversations: Arc<dyn ConversationStore>,
    /// The contacts rules ask about (tags, VIP).
    pub contacts: Arc<dyn ContactStore>,
    /// The canned replies rules answer with.
    pub canned: Arc<dyn CannedStore>,
}

/// A message to try the rules on, and the conversation it would land in.
#[derive(Clone, Debug)]
pub struct TrialMessage {
    pub channel: Channel,
    pub text: String,
    pub subject: Option<String>,
    pub from_email: Option<String>,
    pub new_conversation: bool,
    pub priority: Priority,
    pub status: ConversationStatus,
    pub tags: Vec<String>,
    pub team_id: Option<TeamId>,
    pub message_count: u32,
    /// The customer's tags and VIP mark.
    pub contact: ContactProfile,
}

/// What the rules would do.
#[derive(Clone, Debug)]
pub struct Trial {
    pub applied: Vec<(RuleId, String, Vec<EventKind>)>,
    pub conversation: Conversation,
}

impl Rules {
    /// `agent` went offline: the `assignee_offline` rules run on their conversations.
    pub async fn assignee_went_offline(
        &self,
        agent: crate::model::AgentId,
    ) -> ServiceResult<usize> {
        let ran = super::rule_runs::on_assignee_offline(
            (self.conversations.as_ref(), self.contacts.as_ref()),
            self.rules.as_ref(),
            self.calendars.as_ref(),
            agent,
        )
        .await?;
        if ran > 0 {
            tracing::info!(agent_id = %agent, conversations = ran, "rules ran on an offline agent's conversations");
        }
        Ok(ran)
    }

    /// Every rule, in the order they run.
    pub async fn list(&self) -> ServiceResult<Vec<Rule>> {
        let mut rules = self.rules.rules().await?;
        crate::model::order_rules(&mut rules);
        Ok(rules)
    }

    /// Keeps a new rule, or replaces one (`replacing`: it must exist).
    pub async fn save(&self, rule: Rule, replacing: bool) -> ServiceResult<Rule> {
        if let Some(problem) = rule.problem() {
            return Err(ServiceError::Invalid(problem));
        }
        self.check_references(&rule).await?;
        let all = self.rules.rules().await?;
        let exists = all.iter().any(|r| r.id == rule.id);
        room_for("rule", replacing, exists, all.len(), MAX_RULES)?;
        self.rules.save_rule(&rule).await?;
        Ok(rule)
    }

    pub async fn delete(&self, id: RuleId) -> ServiceResult<()> {
        match self.rules.delete_rule(id).await? {
            true => Ok(()),
            false => Err(ServiceError::NotFound("rule")),
        }
    }

    /// What the rules as they stand would do with `message`; nothing is stored.
    pub async fn try_message(&self, message: &TrialMessage) -> ServiceResult<Trial> {
        let book = RuleBook::read(self.rules.as_ref(), self.calendars.as_ref()).await?;
        let now = Utc::now();
        let mut conversation = Conversation {
            id: ConversationId::new(),
            contact_id: ContactId::new(),
            status: message.status,
            snoozed_until: None,
            priority: message.priority,
            tags: message.tags.clone(),
            team_id: message.team_id,
            assignee_id: None,
            subject: message.subject.clone(),
            channel: message.channel,
            channels: vec![message.channel],
            message_count: message.message_count,
            preview: String::new(),
            created_at: now,
            updated_at: now,
            last_inbound_at: Some(now),
            waiting_since: Some(now),
            incident_id: None,
            resolved_at: None,
            version: 0,
        };
        let mut inbound = crate::model::InboundMessage::new(
            crate::model::SourceId::new("dry-run", "0"),
            message.channel,
            now,
        );
        inbound.text = message.text.clone();
        inbound.subject = message.subject.clone();
        if let Some(email) = message
            .from_email
            .as_deref()
            .and_then(|e| crate::model::EmailAddress::parse(e).ok())
        {
            inbound
                .identities
                .push(crate::model::PresentedIdentity::claimed(
                    crate::model::Identity::email(&email),
                ));
        }
        let applied = book
            .on_message(
                &inbound,
                message.new_conversation,
                Some(message.contact.clone()),
                &mut conversation,
                now,
            )
            .into_iter()
            .map(|a| {
                let kinds = a.events.into_iter().map(|e| e.kind).collect();
                (a.rule_id, a.rule_name, kinds)
            })
            .collect();
        Ok(Trial {
            applied,
            conversation,
        })
    }

    async fn check_references(&self, rule: &Rule) -> ServiceResult<()> {
        let mut teams: Vec<TeamId> = Vec::new();
        let mut agents: Vec<AgentId> = Vec::new();
        for action in &rule.actions {
            match action {
                Action::SetTeam { team_id } => teams.push(*team_id),
                Action::Assign { agent_id } => agents.push(*agent_id),
                Action::NotifyAgents { agent_ids } => agents.extend(agent_ids.iter().copied()),
                Action::ApplySlaPolicy { sla_policy_id } => {
                    let known = self.calendars.sla_policies().await?;
                    if !known.iter().any(|p| p.id == *sla_policy_id) {
                        return Err(ServiceError::Invalid(format!(
                            "there is no SLA policy {sla_policy_id}"
                        )));
                    }
                }
                Action::SendCanned { canned_reply_id } => {
                    let known = self.canned.canned_replies().await?;
                    if !known.iter().any(|r| r.id == *canned_reply_id) {
                        return Err(ServiceError::Invalid(format!(
                            "there is no canned reply {canned_reply_id}"
                        )));
                    }
                }
                _ => {}
            }
        }
        let mut conditions: Vec<&Condition> = Vec::new();
        for c in &rule.conditions {
            match c {
                Condition::Any { of } => conditions.extend(of),
                other => conditions.push(other),
            }
        }
        for c in conditions {
            if let Condition::Team { any_of } = c {
                teams.extend(any_of.iter().flatten());
            }
        }
        for team in teams {
            if self.teams.team(team).await?.is_none() {
                return Err(ServiceError::Invalid(format!("there is no team {team}")));
            }
        }
        for agent in agents {
            if self.agents.agent(agent).await?.is_none() {
                return Err(ServiceError::Invalid(format!("there is no agent {agent}")));
            }
        }
        let needed = rule.calendars();
        if !needed.is_empty() {
            let known = self.calendars.calendars().await?;
            if let Some(missing) = needed.iter().find(|id| !known.iter().any(|c| c.id == **id)) {
                return Err(ServiceError::Invalid(format!(
                    "there is no calendar {missing}"
                )));
            }
        }
        Ok(())
    }
}
