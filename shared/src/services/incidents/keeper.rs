//! The keeper, a subscriber of the event log, links each customer's message that
//! matches an active incident as it is stored, on every channel, and tells the
//! customer the status text once. It also watches the first messages of new
//! conversations for a burst (see [`BurstWatch`](crate::model::BurstWatch)), and
//! proposes an incident when one comes.

use super::{acknowledge, link_conversation};
use crate::model::burst::WINDOW_MINUTES;
use crate::model::{
    Burst, Change, ChangeType, ConversationId, ConversationStatus, Direction, Incident, IncidentId,
    IncidentMatch, IncidentState, MAX_INCIDENT_TERMS, normalize_text,
};
use crate::ports::{
    ConversationStore, IncidentStore, MessageStore, PageRequest, PortError, PortResult, Queue,
};
use crate::services::error::ServiceResult;
use crate::services::subscriber::Subscriber;
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most active incidents matched at once.
const MAX_ACTIVE: u32 = 100;
/// The burst watch is kept as one item (DynamoDB holds 400 KB in one).
const MAX_WATCH_BYTES: usize = 300_000;
/// A proposal takes the terms of a later burst only while this young.
const PROPOSAL_GROWS_MINUTES: i64 = 60;
/// Latest messages read to find a new conversation's first.
const FIRST_READ: usize = 5;

#[derive(Clone)]
pub struct IncidentKeeper {
    pub store: Arc<dyn IncidentStore>,
    pub conversations: Arc<dyn ConversationStore>,
    pub messages: Arc<dyn MessageStore>,
    pub queue: Arc<dyn Queue>,
}

#[async_trait]
impl Subscriber for IncidentKeeper {
    fn name(&self) -> &'static str {
        "incidents"
    }

    async fn handle(&self, changes: &[Change]) -> ServiceResult<()> {
        // Read once per batch, and only when a message came.
        let mut active: Option<Vec<Incident>> = None;
        let mut created = Vec::new();
        for change in changes {
            match (change.kind, change.conversation_id, change.message_id) {
                (ChangeType::ConversationCreated, Some(id), _) => created.push(id),
                (ChangeType::MessageReceived, _, Some(message_id)) => {
                    let active = match &active {
                        Some(a) => a,
                        None => active.insert(self.active().await?),
                    };
                    if !active.is_empty() {
                        self.take(message_id, active).await?;
                    }
                }
                _ => {}
            }
        }
        if !created.is_empty() {
            self.watch(&created).await?;
        }
        Ok(())
    }
}

impl IncidentKeeper {
    async fn active(&self) -> PortResult<Vec<Incident>> {
        Ok(self
            .store
            .list_incidents(Some(IncidentState::Active), &PageRequest::first(MAX_ACTIVE))
            .await?
            .items)
    }

    /// Counts the new conversations' first messages in the burst watch, and proposes an
    /// incident for each burst or surge it finds. A message an active incident matches
    /// is handled already, and not counted.
    async fn watch(&self, created: &[ConversationId]) -> PortResult<()> {
        let incidents = self
            .store
            .list_incidents(None, &PageRequest::first(MAX_ACTIVE))
            .await?
            .items;
        let open: Vec<&Incident> = incidents
            .iter()
            .filter(|i| i.state != IncidentState::Resolved)
            .collect();
        let mut watch = self.store.burst_watch().await?;
        for id in created {
            let latest = self.conversations.latest_messages(*id, FIRST_READ).await?;
            let Some(first) = latest
                .iter()
                .rev()
                .find(|m| m.direction == Direction::Inbound)
            else {
                continue;
            };
            let text = normalize_text(&first.text);
            let handled = open.iter().any(|i| {
                i.is_active()
                    && i.matching
                        .matches(&text, first.channel, &[], first.created_at)
            });
            if !handled {
                watch.record(first.created_at, first.channel, &first.text);
            }
        }
        let covered = |term: &str| {
            open.iter().any(|i| {
                i.matching
                    .terms
                    .iter()
                    .any(|t| t == term || term.contains(t.as_str()) || t.contains(term))
            })
        };
        let now = Utc::now();
        let bursts = watch.bursts(now, covered);
        // Saved first: a batch handed over again proposes nothing twice.
        watch.fit(MAX_WATCH_BYTES);
        self.store.save_burst_watch(&watch).await?;
        for burst in bursts {
            // A proposal nobody has accepted yet takes the new terms: one outage in
            // several wordings, noticed a wording at a time, is one proposal.
            let pending = open.iter().find(|i| {
                i.state == IncidentState::Proposed
                    && !i.matching.terms.is_empty()
                    && now - i.created_at < TimeDelta::minutes(PROPOSAL_GROWS_MINUTES)
            });
            // A surge on a channel an open incident already names is that incident's.
            if let Burst::Surge { channel, .. } = &burst
                && open.iter().any(|i| i.matching.channels == [*channel])
            {
                continue;
            }
            match (&burst, pending) {
                (Burst::Terms { terms, .. }, Some(pending)) => {
                    let mut grown = (*pending).clone();
                    for term in terms {
                        if !grown.matching.terms.contains(term)
                            && grown.matching.terms.len() < MAX_INCIDENT_TERMS
                        {
                            grown.matching.terms.push(term.clone());
                        }
                    }
                    match self.store.save_incident(&grown).await {
                        Ok(_) => {
                            tracing::warn!(incident_id = %grown.id, terms = ?terms, "proposed incident grown");
                        }
                        // Someone accepted or changed it meanwhile: theirs stands.
                        Err(PortError::Conflict(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                _ => {
                    let proposal = proposal(&burst, now);
                    self.store.create_incident(&proposal).await?;
                    tracing::warn!(incident_id = %proposal.id, title = %proposal.title, "incident proposed");
                }
            }
        }
        Ok(())
    }

    async fn take(
        &self,
        message_id: crate::model::MessageId,
        active: &[Incident],
    ) -> PortResult<()> {
        let Some(message) = self.messages.message(message_id).await? else {
            return Ok(());
        };
        if message.direction != Direction::Inbound {
            return Ok(());
        }
        let Some(conversation) = self
            .conversations
            .conversation(message.conversation_id)
            .await?
        else {
            return Ok(());
        };
        if let Some(linked) = conversation.incident_id
            && let Some(incident) = active.iter().find(|i| i.id == linked)
        {
            // Linked before: the customer is told once, whatever they write next.
            acknowledge(
                self.store.as_ref(),
                self.messages.as_ref(),
                self.queue.as_ref(),
                incident,
                &message,
            )
            .await?;
            return Ok(());
        }
        if conversation.status == ConversationStatus::Resolved {
            return Ok(());
        }
        let text = normalize_text(&message.text);
        let Some(incident) = active.iter().find(|i| {
            i.matching.matches(
                &text,
                message.channel,
                &conversation.tags,
                message.created_at,
            )
        }) else {
            return Ok(());
        };
        if link_conversation(
            self.store.as_ref(),
            self.conversations.as_ref(),
            incident,
            conversation.id,
            None,
        )
        .await?
        .is_some()
        {
            tracing::info!(incident_id = %incident.id, conversation_id = %conversation.id, "conversation linked to the incident");
            acknowledge(
                self.store.as_ref(),
                self.messages.as_ref(),
                self.queue.as_ref(),
                incident,
                &message,
            )
            .await?;
        }
        Ok(())
    }
}

/// The incident a burst proposes: it names the burst's terms (or, for a surge, its
/// channel) from the window's start, and waits for an agent to write what customers are
/// told and accept it.
fn proposal(burst: &Burst, now: DateTime<Utc>) -> Incident {
    let since = Some(now - TimeDelta::minutes(WINDOW_MINUTES));
    let matching = match burst {
        Burst::Terms { terms, .. } => IncidentMatch {
            terms: terms.clone(),
            since,
            ..IncidentMatch::default()
        },
        Burst::Surge { channel, .. } => IncidentMatch {
            channels: vec![*channel],
            since,
            ..IncidentMatch::default()
        },
    };
    Incident {
        id: IncidentId::new(),
        title: burst.title().chars().take(200).collect(),
        status_text: BTreeMap::new(),
        matching,
        state: IncidentState::Proposed,
        declared_by: None,
        created_at: now,
        resolved_at: None,
        linked: BTreeMap::new(),
        version: 0,
    }
}
