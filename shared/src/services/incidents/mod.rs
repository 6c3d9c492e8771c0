//! Crisis handling: an incident gathers the conversations about one outage, however
//! many customers write and on whatever channel. Agents declare it (or accept one the
//! detector proposes); the keeper links matching conversations as they come and tells
//! each customer the status text once; one update is written into every linked
//! conversation and goes out on its customer's own channel; resolving it answers and
//! closes them all.
//!
//! The long work (linking what is already open, writing an update into thousands of
//! conversations) runs as jobs on the outbound queue, a page at a time, each page
//! resumable: see [`work`].

mod keeper;
mod work;

pub use keeper::IncidentKeeper;
pub use work::{IncidentJob, IncidentWorker, UpdateRef, resolve_incident};

use super::error::{ServiceError, ServiceResult};
use super::send::queue_stored_reply;
use crate::model::{
    Agent, AgentId, Author, Channel, Conversation, ConversationId, Direction, Event, EventKind,
    Incident, IncidentId, IncidentLink, IncidentMatch, IncidentState, IncidentUpdate,
    IncidentUpdateId, Message, ResolveScope, UpdateProgress, status_text_for,
};
use crate::ports::{
    ConversationStore, IncidentStore, MAX_PAGE_SIZE, MessageStore, Page, PageRequest, PortError,
    PortResult, Queue,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most characters of one update.
const MAX_UPDATE_CHARS: usize = 2000;

/// What an agent gives to declare an incident, or to change one.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentDraft {
    pub title: String,
    /// What customers are told, by language (`en`, `fa`).
    pub status_text: BTreeMap<String, String>,
    #[serde(rename = "match", default)]
    pub matching: IncidentMatch,
}

/// An update to post: with `resolve`, it is the final one and resolves the incident.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDraft {
    pub text: String,
    /// Resolve the incident with this update, and with it the linked conversations
    /// named: `matched` (those whose customer's last message matched; the rest stay
    /// open) or `all`.
    #[serde(default)]
    pub resolve: Option<ResolveScope>,
}

/// An incident with its updates and their progress.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentView {
    #[serde(flatten)]
    pub incident: Incident,
    pub updates: Vec<IncidentUpdate>,
}

/// A linked conversation as the incident lists it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct LinkedConversation {
    pub link: IncidentLink,
    pub conversation: crate::model::ConversationRow,
}

#[derive(Clone)]
pub struct Incidents {
    pub store: Arc<dyn IncidentStore>,
    pub conversations: Arc<dyn ConversationStore>,
    pub queue: Arc<dyn Queue>,
}

impl Incidents {
    /// Declares an incident: active at once, and the open conversations already there
    /// that match are linked behind the queue.
    pub async fn declare(&self, draft: IncidentDraft, actor: &Agent) -> ServiceResult<Incident> {
        let incident = Incident {
            id: IncidentId::new(),
            title: draft.title.trim().to_owned(),
            status_text: trimmed(draft.status_text),
            matching: draft.matching.normalized(),
            state: IncidentState::Active,
            declared_by: Some(actor.id),
            created_at: Utc::now(),
            resolved_at: None,
            linked: BTreeMap::new(),
            version: 0,
        };
        if let Some(problem) = incident.problem() {
            return Err(ServiceError::Invalid(problem));
        }
        self.store.create_incident(&incident).await?;
        self.scan(&incident).await?;
        tracing::info!(incident_id = %incident.id, "incident declared");
        self.get_incident(incident.id).await
    }

    /// Changes an incident's title, texts or terms; new terms link what is open and
    /// matches them from now on (and behind the queue, what is open already).
    pub async fn edit(&self, id: IncidentId, draft: IncidentDraft) -> ServiceResult<Incident> {
        let current = self.get_incident(id).await?;
        if current.state == IncidentState::Resolved {
            return Err(ServiceError::Conflict("the incident is resolved".into()));
        }
        let next = Incident {
            title: draft.title.trim().to_owned(),
            status_text: trimmed(draft.status_text),
            matching: draft.matching.normalized(),
            ..current.clone()
        };
        if let Some(problem) = next.problem() {
            return Err(ServiceError::Invalid(problem));
        }
        let saved = self.store.save_incident(&next).await?;
        if saved.is_active() && saved.matching != current.matching {
            self.scan(&saved).await?;
        }
        Ok(saved)
    }

    /// Accepts a proposed incident: it becomes active as an agent declared it.
    pub async fn accept(&self, id: IncidentId, actor: &Agent) -> ServiceResult<Incident> {
        let current = self.get_incident(id).await?;
        if current.state != IncidentState::Proposed {
            return Err(ServiceError::Conflict(format!(
                "the incident is {}, not proposed",
                current.state.as_str()
            )));
        }
        let accepted = Incident {
            state: IncidentState::Active,
            declared_by: Some(actor.id),
            ..current
        };
        if let Some(problem) = accepted.problem() {
            return Err(ServiceError::Invalid(format!("{problem} (PUT it first)")));
        }
        let saved = self.store.save_incident(&accepted).await?;
        self.scan(&saved).await?;
        Ok(saved)
    }

    pub async fn get_incident(&self, id: IncidentId) -> ServiceResult<Incident> {
        self.store
            .incident(id)
            .await?
            .ok_or(ServiceError::NotFound("incident"))
    }

    pub async fn view(&self, id: IncidentId) -> ServiceResult<IncidentView> {
        let incident = self.get_incident(id).await?;
        let updates = self.store.updates(id).await?;
        Ok(IncidentView { incident, updates })
    }

    pub async fn list(
        &self,
        state: Option<IncidentState>,
        page: &PageRequest,
    ) -> ServiceResult<Page<Incident>> {
        Ok(self.store.list_incidents(state, page).await?)
    }

    /// One page of the links, in the order they are kept.
    pub async fn links(
        &self,
        id: IncidentId,
        page: &PageRequest,
    ) -> ServiceResult<Page<IncidentLink>> {
        self.get_incident(id).await?;
        let after = page
            .cursor
            .as_deref()
            .map(|c| {
                c.parse::<ConversationId>().map_err(|_| {
                    ServiceError::Invalid("the cursor is not one this server issued".into())
                })
            })
            .transpose()?;
        let limit = page.limit.clamp(1, MAX_PAGE_SIZE);
        let items = self.store.linked_conversations(id, after, limit).await?;
        let next_cursor = (items.len() == limit as usize)
            .then(|| items.last().map(|l| l.conversation_id.to_string()))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    /// Links a conversation by hand.
    pub async fn link(
        &self,
        id: IncidentId,
        conversation: ConversationId,
        actor: &Agent,
    ) -> ServiceResult<IncidentLink> {
        let incident = self.get_incident(id).await?;
        if !incident.is_active() {
            return Err(ServiceError::Conflict(format!(
                "the incident is {}; only an active one takes conversations",
                incident.state.as_str()
            )));
        }
        let current = self
            .conversations
            .conversation(conversation)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        match current.incident_id {
            Some(other) if other == id => {}
            Some(other) => {
                return Err(ServiceError::Conflict(format!(
                    "the conversation is linked to incident {other}; unlink it there first"
                )));
            }
            None => {
                link_conversation(
                    self.store.as_ref(),
                    self.conversations.as_ref(),
                    &incident,
                    conversation,
                    Some(actor.id),
                )
                .await?;
            }
        }
        self.store
            .incident_link(id, conversation)
            .await?
            .ok_or(ServiceError::Conflict(
                "the conversation changed meanwhile; try again".into(),
            ))
    }

    /// Unlinks a conversation by hand: its clocks run again.
    pub async fn unlink(
        &self,
        id: IncidentId,
        conversation: ConversationId,
        actor: &Agent,
    ) -> ServiceResult<()> {
        self.get_incident(id).await?;
        match unlink_conversation(
            self.store.as_ref(),
            self.conversations.as_ref(),
            id,
            conversation,
            Some(actor.id),
        )
        .await?
        {
            true => Ok(()),
            false => Err(ServiceError::NotFound("linked conversation")),
        }
    }

    /// Posts an update: it is written into every linked conversation, behind the queue,
    /// and goes out on each customer's own channel. With `resolve`, the incident is
    /// resolved now (nothing more is linked or acknowledged) and its conversations as
    /// the update reaches them.
    pub async fn post_update(
        &self,
        id: IncidentId,
        draft: UpdateDraft,
        actor: &Agent,
    ) -> ServiceResult<IncidentUpdate> {
        let text = draft.text.trim();
        if text.is_empty() || text.chars().count() > MAX_UPDATE_CHARS {
            return Err(ServiceError::Invalid(format!(
                "the update must be 1 to {MAX_UPDATE_CHARS} characters"
            )));
        }
        let incident = self.get_incident(id).await?;
        if !incident.is_active() {
            return Err(ServiceError::Conflict(format!(
                "the incident is {}; updates go to an active one",
                incident.state.as_str()
            )));
        }
        let now = Utc::now();
        let update = IncidentUpdate {
            id: IncidentUpdateId::new(),
            incident_id: id,
            text: text.to_owned(),
            author_id: actor.id,
            created_at: now,
            resolves: draft.resolve,
            progress: UpdateProgress::default(),
        };
        // The update and its job first: once it is queued it goes out, and a final one
        // resolves the incident when its fan-out starts, should the save below fail.
        self.store.add_update(&update).await?;
        work::queue_job(
            self.queue.as_ref(),
            &IncidentJob::FanOut {
                incident_id: id,
                update_id: update.id,
                after: None,
            },
        )
        .await?;
        if update.resolves.is_some()
            && let Err(e) = work::resolve_incident(self.store.as_ref(), id, now).await
        {
            // Queued already: its fan-out resolves the incident when it starts.
            tracing::warn!(incident_id = %id, error = %e, "the incident is resolved by the update's fan-out");
        }
        tracing::info!(incident_id = %id, update_id = %update.id, resolves = update.resolves.is_some(), "incident update posted");
        Ok(update)
    }

    /// Links what is open already and matches, behind the queue.
    async fn scan(&self, incident: &Incident) -> PortResult<()> {
        if !incident.matching.links_automatically() {
            return Ok(());
        }
        work::queue_job(self.queue.as_ref(), &IncidentJob::first_scan(incident)).await
    }
}

fn trimmed(texts: BTreeMap<String, String>) -> BTreeMap<String, String> {
    texts
        .into_iter()
        .map(|(l, t)| (l.trim().to_lowercase(), t.trim().to_owned()))
        .collect()
}

/// Times a link or unlink is tried again when the conversation changes under it.
const ATTEMPTS: usize = 5;

/// Links `id` to `incident` unless it is linked to one already: the conversation is
/// saved with its incident and an `incident_linked` event. Returns the conversation as
/// linked and the channel its customer last wrote on; none when it was linked already
/// (to this incident or another), or is gone.
pub async fn link_conversation(
    store: &dyn IncidentStore,
    conversations: &dyn ConversationStore,
    incident: &Incident,
    id: ConversationId,
    by: Option<AgentId>,
) -> PortResult<Option<(Conversation, Channel)>> {
    for _ in 0..ATTEMPTS {
        let Some(current) = conversations.conversation(id).await? else {
            return Ok(None);
        };
        // Linked here already, or to another incident still open. One that is over
        // lets it go: the conversation may be about a new one.
        if let Some(other) = current.incident_id {
            let open = other == incident.id
                || store
                    .incident(other)
                    .await?
                    .is_some_and(|i| i.state != IncidentState::Resolved);
            if open {
                return Ok(None);
            }
        }
        let now = Utc::now();
        let next = Conversation {
            incident_id: Some(incident.id),
            ..current.clone()
        };
        let event = Event::new(
            id,
            EventKind::IncidentLinked {
                incident_id: incident.id,
                title: incident.title.clone(),
            },
            by,
            now,
        );
        let link = IncidentLink {
            incident_id: incident.id,
            conversation_id: id,
            channel: current.channel,
            linked_at: now,
            linked_by: by,
            acknowledged: false,
        };
        match store.link_conversation(&link, &next, &event).await {
            Ok(saved) => return Ok(Some((saved, current.channel))),
            // The conversation changed, or the incident is no longer active (a link is
            // only ever made to an active one).
            Err(PortError::Conflict(_)) => {
                if !store
                    .incident(incident.id)
                    .await?
                    .is_some_and(|i| i.is_active())
                {
                    return Ok(None);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(PortError::Conflict(format!(
        "conversation {id} is changing too often to link"
    )))
}

/// Unlinks `id` from `incident`: false when it was not linked to it.
pub async fn unlink_conversation(
    store: &dyn IncidentStore,
    conversations: &dyn ConversationStore,
    incident: IncidentId,
    id: ConversationId,
    by: Option<AgentId>,
) -> PortResult<bool> {
    for _ in 0..ATTEMPTS {
        let Some(current) = conversations.conversation(id).await? else {
            return Ok(false);
        };
        if current.incident_id != Some(incident) {
            return Ok(false);
        }
        let next = Conversation {
            incident_id: None,
            ..current.clone()
        };
        let event = Event::new(
            id,
            EventKind::IncidentUnlinked {
                incident_id: incident,
            },
            by,
            Utc::now(),
        );
        match store.unlink_conversation(incident, &next, &event).await {
            Ok(_) => return Ok(true),
            Err(PortError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(PortError::Conflict(format!(
        "conversation {id} is changing too often to unlink"
    )))
}

/// Tells the customer who wrote `message` the incident's status text, once per
/// incident: on the channel they wrote on, as an automatic answer in their
/// conversation's timeline. A call is not answered.
pub async fn acknowledge(
    store: &dyn IncidentStore,
    messages: &dyn MessageStore,
    queue: &dyn Queue,
    incident: &Incident,
    message: &Message,
) -> PortResult<bool> {
    if message.channel == Channel::Voice || message.direction != Direction::Inbound {
        return Ok(false);
    }
    let Some(text) = status_text_for(&incident.status_text, &message.text) else {
        return Ok(false);
    };
    let ack = Message {
        reply_to: Some(message.id),
        ..Message::outbound(
            message.conversation_id,
            message.contact_id,
            message.channel,
            Author::System,
            text,
        )
    };
    if !store.acknowledge(incident.id, &ack).await? {
        return Ok(false);
    }
    queue_stored_reply(messages, queue, &ack).await?;
    tracing::info!(incident_id = %incident.id, conversation_id = %message.conversation_id, "incident acknowledged to the customer");
    Ok(true)
}
