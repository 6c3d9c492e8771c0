//! Contacts, agents, teams and API keys.

use super::error::{ServiceError, ServiceResult};
use crate::model::{
    Agent, AgentId, Assignment, Availability, Contact, ContactId, Conversation, ConversationId,
    EmailAddress, MAX_CONTACT_TAGS, Role, Team, TeamId, normalize_tag,
};
use crate::ports::{
    AgentStore, AssigneeFilter, ContactStore, ConversationFilter, ConversationStore, Page,
    PageRequest, PortError, PortResult, StatusFilter, TeamStore,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use sha2::{Digest, Sha256};
use std::sync::Arc;

#[derive(Clone)]
pub struct Directory {
    pub contacts: Arc<dyn ContactStore>,
    pub conversations: Arc<dyn ConversationStore>,
    pub agents: Arc<dyn AgentStore>,
    pub teams: Arc<dyn TeamStore>,
    /// Passwords and browser sessions.
    pub sessions: Arc<dyn crate::ports::SessionStore>,
    /// Sign-in tries counted per email and client network.
    pub tries: Arc<dyn crate::ports::ProofStore>,
}

/// A new random secret with a readable prefix (`sb_…`), and the SHA-256 (hex) under
/// which it is stored. The secret itself is never stored.
pub fn new_secret(prefix: &str) -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let secret = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_secret(&secret);
    (secret, hash)
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// What an admin may change about an agent; absent fields stay.
#[derive(Clone, Debug, Default)]
pub struct AgentPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub availability: Option<Availability>,
    pub max_open_conversations: Option<Option<u32>>,
    pub team_ids: Option<Vec<TeamId>>,
    pub phone_extension: Option<Option<String>>,
    pub skills: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ContactDetails {
    #[serde(flatten)]
    pub contact: Contact,
    /// The contact's most recent conversations.
    pub conversations: Vec<Conversation>,
}

/// A merged contact, and what an agent may fold after the merge.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MergedContact {
    #[serde(flatten)]
    pub contact: Contact,
    /// Present when the contact now has two or more open conversations that can be one.
    pub fold_offer: Option<FoldOffer>,
}

/// The contact's open conversations without a customer page: fold each of `from` into
/// `into` (the most recently active) with `POST /v1/conversations/{id}/fold`.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FoldOffer {
    pub into: ConversationId,
    pub from: Vec<ConversationId>,
}

impl Directory {
    /// The agent a bearer key belongs to.
    pub async fn authenticate(&self, key: &str) -> ServiceResult<Option<Agent>> {
        if key.is_empty() || key.len() > 200 {
            return Ok(None);
        }
        let Some(agent) = self.agents.agent_by_key_hash(&hash_secret(key)).await? else {
            return Ok(None);
        };
        Ok(Some(self.seen(agent).await))
    }

    /// The agent, noted as seen now (when that is news): an agent set away for being
    /// idle is available again.
    pub(crate) async fn seen(&self, mut agent: Agent) -> Agent {
        let now = Utc::now();
        if agent.seen_is_news(now) {
            // Being seen is bookkeeping: a failure to note it fails no request.
            match self.agents.mark_seen(agent.id, now, agent.idle_away).await {
                Ok(()) => {
                    agent.last_seen_at = Some(now);
                    if agent.idle_away {
                        agent.idle_away = false;
                        agent.availability = Availability::Available;
                        tracing::info!(agent_id = %agent.id, "an agent idle away is back");
                    }
                }
                Err(e) => {
                    tracing::warn!(agent_id = %agent.id, error = %e, "noting an agent seen failed")
                }
            }
        }
        agent
    }

    pub async fn search_contacts(
        &self,
        query: &str,
        page: &PageRequest,
    ) -> ServiceResult<Page<Contact>> {
        Ok(self.contacts.search_contacts(query, page).await?)
    }

    /// Sets a contact's tags (in place of those it had) and VIP mark, either or both.
    pub async fn set_contact_profile(
        &self,
        id: ContactId,
        tags: Option<Vec<String>>,
        vip: Option<bool>,
    ) -> ServiceResult<Contact> {
        let contact = self
            .contacts
            .contact(id)
            .await?
            .ok_or(ServiceError::NotFound("contact"))?;
        let mut profile = contact.profile();
        if let Some(tags) = tags {
            let mut normalized = Vec::with_capacity(tags.len());
            for tag in &tags {
                normalized.push(normalize_tag(tag).ok_or_else(|| {
                    ServiceError::Invalid(format!(
                        "`{tag}` is not a tag: letters, digits, `-`, `_` and `:`, up to 50"
                    ))
                })?);
            }
            normalized.sort();
            normalized.dedup();
            if normalized.len() > MAX_CONTACT_TAGS {
                return Err(ServiceError::Invalid(format!(
                    "a contact carries at most {MAX_CONTACT_TAGS} tags"
                )));
            }
            profile.tags = normalized;
        }
        if let Some(vip) = vip {
            profile.vip = vip;
        }
        self.contacts
            .set_contact_profile(id, &profile, Utc::now())
            .await?
            .ok_or(ServiceError::NotFound("contact"))
    }

    pub async fn contact(&self, id: ContactId) -> ServiceResult<ContactDetails> {
        let contact = self
            .contacts
            .contact(id)
            .await?
            .ok_or(ServiceError::NotFound("contact"))?;
        let filter = ConversationFilter {
            contact: Some(id),
            status: StatusFilter::All,
            assignee: AssigneeFilter::Anyone,
            ..Default::default()
        };
        let conversations = self
            .conversations
            .list_conversations(&filter, &PageRequest::first(50))
            .await?
            .items;
        Ok(ContactDetails {
            contact,
            conversations,
        })
    }

    pub async fn merge(
        &self,
        survivor: ContactId,
        absorbed: ContactId,
        actor: &Agent,
    ) -> ServiceResult<MergedContact> {
        if survivor == absorbed {
            return Err(ServiceError::Invalid(
                "a contact cannot be merged into itself".into(),
            ));
        }
        for id in [survivor, absorbed] {
            self.contacts
                .contact(id)
                .await?
                .ok_or(ServiceError::NotFound("contact"))?;
        }
        let merged = self
            .contacts
            .merge_contacts(survivor, absorbed, actor.id, Utc::now())
            .await?;
        tracing::info!(%survivor, %absorbed, agent_id = %actor.id, "contacts merged");
        let fold_offer = self.fold_offer(survivor).await?;
        Ok(MergedContact {
            contact: merged,
            fold_offer,
        })
    }

    /// The contact's open conversations that could be folded into one, if two or more.
    async fn fold_offer(&self, contact: ContactId) -> ServiceResult<Option<FoldOffer>> {
        let filter = ConversationFilter {
            contact: Some(contact),
            status: StatusFilter::All,
            assignee: AssigneeFilter::Anyone,
            ..Default::default()
        };
        let mut open = self
            .conversations
            .list_conversations(&filter, &PageRequest::first(50))
            .await?
            .items
            .into_iter()
            .filter(|c| !c.is_closed() && !c.is_customer_page());
        let Some(into) = open.next() else {
            return Ok(None);
        };
        let from: Vec<ConversationId> = open.map(|c| c.id).collect();
        Ok((!from.is_empty()).then_some(FoldOffer {
            into: into.id,
            from,
        }))
    }

    /// Creates an agent and returns it with its API key, which is shown only now.
    pub async fn create_agent(
        &self,
        name: &str,
        email: &str,
        role: Role,
    ) -> ServiceResult<(Agent, String)> {
        let name = checked_name(name)?;
        let email = EmailAddress::parse(email).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let agent = Agent {
            id: AgentId::new(),
            name,
            email,
            role,
            availability: Availability::Available,
            max_open_conversations: None,
            team_ids: Vec::new(),
            phone_extension: None,
            skills: vec![],
            languages: vec![],
            last_seen_at: None,
            idle_away: false,
            created_at: Utc::now(),
        };
        let (key, hash) = new_secret("sb_");
        self.agents.create_agent(&agent, &hash).await?;
        tracing::info!(agent_id = %agent.id, role = role.as_str(), "agent created");
        Ok((agent, key))
    }

    pub async fn list_agents(&self, page: &PageRequest) -> ServiceResult<Page<Agent>> {
        Ok(self.agents.list_agents(page).await?)
    }

    /// Every agent, for an admin's listing.
    pub async fn all_agents(&self) -> ServiceResult<Vec<Agent>> {
        Ok(every_agent(self.agents.as_ref()).await?)
    }

    /// The agent `which` names: their id (`ag_…`), else their email address (compared
    /// case-insensitively), as an admin writes it.
    pub async fn find_agent(&self, which: &str) -> ServiceResult<Agent> {
        let which = which.trim();
        if let Ok(id) = which.parse::<AgentId>() {
            return self
                .agents
                .agent(id)
                .await?
                .ok_or(ServiceError::NotFound("agent"));
        }
        self.all_agents()
            .await?
            .into_iter()
            .find(|a| a.email.as_str().eq_ignore_ascii_case(which))
            .ok_or(ServiceError::NotFound("agent"))
    }

    /// Gives the agent a new API key and returns it; the old key stops working.
    pub async fn reset_agent_key(&self, id: AgentId) -> ServiceResult<String> {
        let (key, hash) = new_secret("sb_");
        self.agents
            .replace_agent_key(id, &hash)
            .await
            .map_err(|e| match e {
                PortError::NotFound => ServiceError::NotFound("agent"),
                other => other.into(),
            })?;
        tracing::info!(agent_id = %id, "agent key replaced");
        Ok(key)
    }

    /// Locks the agent out: their key is replaced by one nobody is given, their password
    /// is removed and their sessions end, and they are away, so nothing new is assigned
    /// to them. A later key reset (or password) lets them in again.
    pub async fn disable_agent(&self, id: AgentId) -> ServiceResult<Agent> {
        self.reset_agent_key(id).await?;
        self.sessions.set_password(id, None, Utc::now()).await?;
        self.sessions.end_sessions_of(id).await?;
        let away = AgentPatch {
            availability: Some(Availability::Away),
            ..Default::default()
        };
        let agent = self.update_agent(id, away).await?;
        tracing::info!(agent_id = %id, "agent disabled");
        Ok(agent)
    }

    pub async fn update_agent(&self, id: AgentId, patch: AgentPatch) -> ServiceResult<Agent> {
        let mut agent = self
            .agents
            .agent(id)
            .await?
            .ok_or(ServiceError::NotFound("agent"))?;
        if let Some(name) = patch.name {
            agent.name = checked_name(&name)?;
        }
        if let Some(role) = patch.role {
            agent.role = role;
        }
        if let Some(availability) = patch.availability {
            agent.availability = availability;
            agent.idle_away = false;
        }
        if let Some(cap) = patch.max_open_conversations {
            agent.max_open_conversations = cap;
        }
        if let Some(mut teams) = patch.team_ids {
            teams.sort();
            teams.dedup();
            for team in &teams {
                self.teams
                    .team(*team)
                    .await?
                    .ok_or_else(|| ServiceError::Invalid(format!("no team {team}")))?;
            }
            agent.team_ids = teams;
        }
        if let Some(extension) = patch.phone_extension {
            agent.phone_extension = extension.as_deref().map(checked_extension).transpose()?;
        }
        if let Some(skills) = patch.skills {
            agent.skills = checked_skills(&skills)?;
        }
        if let Some(languages) = patch.languages {
            agent.languages = checked_languages(&languages)?;
        }
        self.agents.save_agent(&agent).await?;
        Ok(agent)
    }

    pub async fn create_team(
        &self,
        name: &str,
        assignment: Assignment,
        bot_answers_first: bool,
    ) -> ServiceResult<Team> {
        let team = Team {
            id: TeamId::new(),
            name: checked_name(name)?,
            assignment,
            bot_answers_first,
            created_at: Utc::now(),
        };
        self.teams.create_team(&team).await?;
        Ok(team)
    }

    /// Changes how a team hands out its conversations, and whether the bot answers its
    /// new conversations first: what is given.
    pub async fn change_team(
        &self,
        id: TeamId,
        assignment: Option<Assignment>,
        bot_answers_first: Option<bool>,
    ) -> ServiceResult<Team> {
        if assignment.is_none() && bot_answers_first.is_none() {
            return Err(ServiceError::Invalid(
                "give `assignment`, `bot_answers_first` or both".into(),
            ));
        }
        if let Some(assignment) = assignment
            && !self.teams.set_team_assignment(id, assignment).await?
        {
            return Err(ServiceError::NotFound("team"));
        }
        if let Some(on) = bot_answers_first
            && !self.teams.set_team_bot(id, on).await?
        {
            return Err(ServiceError::NotFound("team"));
        }
        self.teams
            .team(id)
            .await?
            .ok_or(ServiceError::NotFound("team"))
    }

    pub async fn list_teams(&self) -> ServiceResult<Vec<Team>> {
        Ok(self.teams.list_teams().await?)
    }
}

fn checked_name(name: &str) -> ServiceResult<String> {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ServiceError::Invalid(
            "a name needs 1 to 100 characters".into(),
        ));
    }
    Ok(name)
}

/// An extension as a PBX names it in `answeringNumber`: 1–32 of digits, letters and
/// `+ * # - _ .`, kept as given.
pub fn checked_extension(extension: &str) -> ServiceResult<String> {
    let extension = extension.trim();
    let ok = (1..=32).contains(&extension.len())
        && extension
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '*' | '#' | '-' | '_' | '.'));
    if ok {
        Ok(extension.to_owned())
    } else {
        Err(ServiceError::Invalid(
            "a phone extension is 1–32 of digits, letters and + * # - _ .".into(),
        ))
    }
}

/// Every agent, in pages of the store's largest (agents are a team, not a crowd).
pub(crate) async fn every_agent(agents: &dyn AgentStore) -> PortResult<Vec<Agent>> {
    let mut page = PageRequest::first(crate::ports::MAX_PAGE_SIZE);
    let mut all = Vec::new();
    loop {
        let listed = agents.list_agents(&page).await?;
        all.extend(listed.items);
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(all),
        }
    }
}

/// Most skills or languages one agent carries.
const MAX_AGENT_LIST: usize = 20;

/// Skills as tags are written (`refunds`, `hardware`), each once, sorted.
fn checked_skills(skills: &[String]) -> ServiceResult<Vec<String>> {
    let mut out = skills
        .iter()
        .map(|s| {
            // A skill is asked for as a `skill:<name>` tag: it must make one.
            crate::model::normalize_tag(&format!("{}{s}", crate::model::SKILL_TAG))
                .and_then(|tag| tag.strip_prefix(crate::model::SKILL_TAG).map(str::to_owned))
                .filter(|skill| !skill.is_empty())
                .ok_or_else(|| {
                    ServiceError::Invalid(format!(
                        "`{s}` is not a skill: letters, digits, `-`, `_` and `:`, up to 44"
                    ))
                })
        })
        .collect::<ServiceResult<Vec<_>>>()?;
    out.sort();
    out.dedup();
    if out.len() > MAX_AGENT_LIST {
        return Err(ServiceError::Invalid(format!(
            "an agent has at most {MAX_AGENT_LIST} skills"
        )));
    }
    Ok(out)
}

/// Languages as ISO 639-1 codes Switchboard tells apart (`fa`, `en`), each once.
fn checked_languages(languages: &[String]) -> ServiceResult<Vec<String>> {
    let mut out = Vec::new();
    for language in languages {
        let code = language.trim().to_ascii_lowercase();
        if !crate::model::is_known_language(&code) {
            return Err(ServiceError::Invalid(format!(
                "`{language}` is not a language code Switchboard knows (ISO 639-1, like `fa` or `en`)"
            )));
        }
        if !out.contains(&code) {
            out.push(code);
        }
    }
    if out.len() > MAX_AGENT_LIST {
        return Err(ServiceError::Invalid(format!(
            "an agent speaks at most {MAX_AGENT_LIST} languages here"
        )));
    }
    Ok(out)
}
