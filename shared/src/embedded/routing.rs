//! Routing inside one write: read what the policy needs, let it decide, apply.

use super::Embedded;
use super::db::sql;
use super::rows::{self, millis, to_json};
use crate::model::{
    AgentId, AgentLoad, AssignNeed, Assignment, Channel, ContactId, ContactIdentity, Event,
    Identity, InboundMessage, MergeSuggestion, MessageId, Reachability, SourceId, ThreadHint,
};
use crate::ports::{PortError, PortResult, RouteOutcome, RoutingStore};
use crate::services::erasure::source_digest;
use crate::services::route::{
    ContactChange, ConversationChange, IdentityOwner, MAX_OWNERS_READ, RouteContext, RouteError,
    RoutePlan, RoutePolicy, choose_assignee, language_among, owners_read,
};
use async_trait::async_trait;
use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};

#[async_trait]
impl RoutingStore for Embedded {
    async fn route(
        &self,
        message: &InboundMessage,
        policy: &RoutePolicy,
    ) -> PortResult<RouteOutcome> {
        let message = message.clone();
        let policy = policy.clone();
        self.db
            .write(move |conn| route(conn, &message, &policy))
            .await
    }

    async fn set_reachability(
        &self,
        identity: &Identity,
        channel: Channel,
        reachability: Reachability,
        at: chrono::DateTime<Utc>,
    ) -> PortResult<Option<ContactId>> {
        let identity = identity.clone();
        self.db
            .write(move |conn| set_reachability(conn, &identity, channel, reachability, at))
            .await
    }

    async fn prove_identity(
        &self,
        proof: &crate::ports::PendingProof,
        at: chrono::DateTime<Utc>,
    ) -> PortResult<Option<ContactId>> {
        let proof = proof.clone();
        self.db
            .write(move |conn| super::proofs::prove_identity(conn, &proof, at))
            .await
    }
}

fn set_reachability(
    conn: &Connection,
    identity: &Identity,
    channel: Channel,
    reachability: Reachability,
    at: chrono::DateTime<Utc>,
) -> PortResult<Option<ContactId>> {
    let holder: Option<String> = conn
        .prepare_cached(
            "SELECT contact_id FROM contact_identities
             WHERE identity_key = ?1 AND typed = 0 ORDER BY proven DESC, added_at DESC LIMIT 1",
        )
        .and_then(|mut s| s.query_row([identity.key()], |r| r.get(0)).optional())
        .map_err(sql)?;
    let Some(contact) = holder else {
        return Ok(None);
    };
    let mut held = rows::load_contact(conn, &contact)?.ok_or(PortError::NotFound)?;
    let Some(kind) = held.set_reachability(channel, reachability, at) else {
        return Ok(Some(held.id));
    };
    let contact_id = held.id;
    conn.prepare_cached("UPDATE contacts SET blocked_channels = ?2, updated_at = ?3 WHERE id = ?1")
        .and_then(|mut s| {
            s.execute(params![
                contact,
                to_json(&held.blocked_channels),
                millis(at)
            ])
        })
        .map_err(sql)?;
    let latest: Option<String> = conn
        .prepare_cached(
            "SELECT id FROM conversations WHERE contact_id = ?1 ORDER BY created_at DESC LIMIT 1",
        )
        .and_then(|mut s| s.query_row([&contact], |r| r.get(0)).optional())
        .map_err(sql)?;
    if let Some(conversation) = latest {
        let event = Event::new(
            rows::parse("conversation id", &conversation).map_err(sql)?,
            kind,
            None,
            at,
        );
        rows::insert_event(conn, &event)?;
    }
    Ok(Some(contact_id))
}

/// The stored message a source id names: an inbound message by its source id, or a
/// reply of ours by the provider's id for it.
fn message_by_reference(conn: &Connection, reference: &SourceId) -> PortResult<Option<MessageId>> {
    let id: Option<String> = conn
        .prepare_cached(
            "SELECT id FROM messages WHERE source_id = ?1
             UNION ALL SELECT id FROM messages WHERE provider_id = ?1 LIMIT 1",
        )
        .and_then(|mut s| s.query_row([reference.as_str()], |r| r.get(0)).optional())
        .map_err(sql)?;
    id.map(|id| rows::parse("message id", &id).map_err(sql))
        .transpose()
}

fn route(
    conn: &Connection,
    msg: &InboundMessage,
    policy: &RoutePolicy,
) -> PortResult<RouteOutcome> {
    let now = Utc::now();
    let existing: Option<String> = conn
        .prepare_cached("SELECT id FROM messages WHERE source_id = ?1")
        .and_then(|mut s| {
            s.query_row([msg.source_id.as_str()], |r| r.get(0))
                .optional()
        })
        .map_err(sql)?;
    if let Some(id) = existing {
        return Ok(RouteOutcome::Duplicate {
            message_id: rows::parse("message id", &id).map_err(sql)?,
        });
    }
    let erased: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM erased_sources WHERE digest = ?1 AND expires_at > ?2")
        .and_then(|mut s| {
            s.query_row(params![source_digest(&msg.source_id), millis(now)], |r| {
                r.get(0)
            })
            .optional()
        })
        .map_err(sql)?;
    if erased.is_some() {
        return Ok(RouteOutcome::Erased);
    }

    let mut ctx = read_context(conn, msg)?;
    if policy.rules.reads_contact() {
        for id in ctx.candidate_contacts() {
            if let Some(contact) = rows::load_contact(conn, &id.to_string())? {
                ctx.profiles.push((id, contact.profile()));
            }
        }
    }
    let mut plan = policy.plan(msg, &ctx, now).map_err(|e| match e {
        RouteError::UnknownThread => PortError::Unavailable(e.to_string()),
        RouteError::NoSender => PortError::Invalid(e.to_string()),
    })?;
    if let Some(need) = plan.assign_within.take() {
        let (candidates, mode) = agent_loads(conn, &need)?;
        let language = language_among(&candidates, &plan.message.text);
        let cursor_key = need.team.map_or_else(String::new, |t| t.to_string());
        let last: Option<String> = conn
            .prepare_cached("SELECT last_agent_id FROM assignment_cursors WHERE team_key = ?1")
            .and_then(|mut s| s.query_row([&cursor_key], |r| r.get(0)).optional())
            .map_err(sql)?;
        let last = last.and_then(|l| l.parse::<AgentId>().ok());
        let chosen = choose_assignee(&candidates, last, language.as_deref(), mode);
        if let Some(agent) = chosen {
            conn.prepare_cached(
                "INSERT INTO assignment_cursors (team_key, last_agent_id) VALUES (?1, ?2)
                 ON CONFLICT (team_key) DO UPDATE SET last_agent_id = excluded.last_agent_id",
            )
            .and_then(|mut s| s.execute([&cursor_key, &agent.to_string()]))
            .map_err(sql)?;
        }
        plan.assign(chosen, now);
    }
    apply(conn, &plan, now)
}

/// The contacts holding `identity` that routing reads (see [`MAX_OWNERS_READ`]).
pub(super) fn owners_of(conn: &Connection, identity: &Identity) -> PortResult<Vec<IdentityOwner>> {
    conn
            .prepare_cached("SELECT contact_id, proven, typed FROM contact_identities WHERE identity_key = ?1 ORDER BY proven DESC, typed ASC, added_at DESC LIMIT ?2")
            .and_then(|mut s| {
                s.query_map(params![identity.key(), MAX_OWNERS_READ as i64], |r| {
                    Ok(IdentityOwner {
                        contact_id: rows::parse("contact id", &r.get::<_, String>(0)?)?,
                        proven: r.get(1)?,
                        typed: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map(owners_read)
            .map_err(sql)
}

fn read_context(conn: &Connection, msg: &InboundMessage) -> PortResult<RouteContext> {
    let mut ctx = RouteContext::default();
    for presented in &msg.identities {
        let owners = owners_of(conn, &presented.identity)?;
        ctx.owners.push(owners);
    }
    let hinted_id = match &msg.thread {
        ThreadHint::None => None,
        ThreadHint::Conversation { id } => Some(id.to_string()),
        ThreadHint::CustomerLink { link_hash } => conn
            .prepare_cached("SELECT conversation_id FROM customer_links WHERE link_hash = ?1")
            .and_then(|mut s| s.query_row([link_hash], |r| r.get(0)).optional())
            .map_err(sql)?,
    };
    if let Some(id) = hinted_id {
        ctx.hinted = rows::get_conversation(conn, &id)?;
    }
    if let Some(reference) = &msg.reply_to {
        ctx.reply_to = message_by_reference(conn, reference)?;
    }
    if let Some(reference) = &msg.edit_of {
        ctx.edit_of = message_by_reference(conn, reference)?;
    }
    for contact in ctx.owner_contacts() {
        let latest = conn
            .prepare_cached(&format!(
                "SELECT {} FROM conversations WHERE contact_id = ?1 ORDER BY created_at DESC LIMIT 1",
                rows::CONVERSATION_COLUMNS
            ))
            .and_then(|mut s| s.query_row([contact.to_string()], rows::conversation).optional())
            .map_err(sql)?;
        ctx.latest.extend(latest);
    }
    Ok(ctx)
}

/// Every agent who may take conversations of `team`, counted as [`AgentLoad::count_to`] says.
/// The agents who may take a conversation `need` describes, counted as far as the way
/// its team assigns needs.
pub(super) fn agent_loads(
    conn: &Connection,
    need: &AssignNeed,
) -> PortResult<(Vec<AgentLoad>, Assignment)> {
    let mode = match need.team {
        Some(team) => conn
            .prepare_cached(&format!(
                "SELECT {} FROM teams WHERE id = ?1",
                rows::TEAM_COLUMNS
            ))
            .and_then(|mut s| s.query_row([team.to_string()], rows::team).optional())
            .map_err(sql)?
            .map(|t| t.assignment)
            .unwrap_or_default(),
        None => Assignment::default(),
    };
    let agents = conn
        .prepare_cached(&format!("SELECT {} FROM agents", rows::AGENT_COLUMNS))
        .and_then(|mut s| {
            s.query_map([], rows::agent)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql)?;
    let mut loads = Vec::new();
    for mut load in agents.iter().filter_map(|a| AgentLoad::of(a, need)) {
        if let Some(cap) = load.count_to(mode) {
            load.open_conversations = conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM conversations
                     WHERE assignee_id = ?1 AND status IN ('open', 'pending', 'snoozed') LIMIT ?2)",
                )
                .and_then(|mut s| {
                    s.query_row(params![load.agent_id.to_string(), cap], |r| r.get(0))
                })
                .map_err(sql)?;
        }
        loads.push(load);
    }
    Ok((loads, mode))
}

fn apply(
    conn: &Connection,
    plan: &RoutePlan,
    now: chrono::DateTime<Utc>,
) -> PortResult<RouteOutcome> {
    let contact_id = match &plan.contact {
        ContactChange::Create(contact) => {
            conn.prepare_cached(
                "INSERT INTO contacts (id, name, merge_suggestions, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    contact.id.to_string(),
                    contact.name,
                    to_json(&contact.merge_suggestions),
                    millis(contact.created_at)
                ])
            })
            .map_err(sql)?;
            insert_identities(conn, &contact.id.to_string(), &contact.identities)?;
            contact.id
        }
        ContactChange::Update {
            id,
            name,
            add_identities,
            prove,
            suggestions,
        } => {
            let key = id.to_string();
            insert_identities(conn, &key, add_identities)?;
            for identity in prove {
                conn.prepare_cached("UPDATE contact_identities SET proven = 1, typed = 0 WHERE identity_key = ?1 AND contact_id = ?2")
                    .and_then(|mut s| s.execute([identity.key(), key.clone()]))
                    .map_err(sql)?;
            }
            add_suggestions(conn, &key, suggestions)?;
            conn.prepare_cached(
                "UPDATE contacts SET name = COALESCE(name, ?2), updated_at = ?3 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![key, name, millis(now)]))
            .map_err(sql)?;
            *id
        }
    };

    let new_conversation = match &plan.conversation {
        ConversationChange::Create(c) => {
            rows::insert_conversation(
                conn,
                &crate::model::Conversation {
                    version: 1,
                    ..c.clone()
                },
            )?;
            true
        }
        ConversationChange::Update {
            conversation,
            expected_version,
        } => {
            let next = crate::model::Conversation {
                version: expected_version + 1,
                ..conversation.clone()
            };
            rows::update_conversation(conn, &next, *expected_version)?;
            false
        }
    };
    rows::insert_message(conn, &plan.message)?;
    for event in &plan.events {
        rows::insert_event(conn, event)?;
    }
    for (other, suggestion) in &plan.mirrored_suggestions {
        add_suggestions(conn, &other.to_string(), std::slice::from_ref(suggestion))?;
    }
    if let Some(link) = &plan.link_hash {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO customer_links (link_hash, conversation_id) VALUES (?1, ?2)",
        )
        .and_then(|mut s| s.execute([link, &plan.conversation_id().to_string()]))
        .map_err(sql)?;
    }
    let contact_id = match plan.merge_into {
        Some(survivor) if survivor != contact_id => {
            super::contacts::merge(conn, survivor, contact_id, None, now)?;
            tracing::info!(%survivor, absorbed = %contact_id, "contacts linked by a proven identity");
            survivor
        }
        _ => contact_id,
    };
    Ok(RouteOutcome::Stored {
        message_id: plan.message.id,
        conversation_id: plan.conversation_id(),
        contact_id,
        new_conversation,
        auto_replies: plan.auto_replies.clone(),
    })
}

fn insert_identities(
    conn: &Connection,
    contact: &str,
    identities: &[ContactIdentity],
) -> PortResult<()> {
    for i in identities {
        conn.prepare_cached(
            "INSERT INTO contact_identities (identity_key, contact_id, proven, typed, added_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut s| s.execute(params![i.identity.key(), contact, i.proven, i.typed, millis(i.added_at)]))
        .map_err(sql)?;
    }
    Ok(())
}

pub(super) fn add_suggestions(
    conn: &Connection,
    contact: &str,
    new: &[MergeSuggestion],
) -> PortResult<()> {
    if new.is_empty() {
        return Ok(());
    }
    let stored: String = conn
        .prepare_cached("SELECT merge_suggestions FROM contacts WHERE id = ?1")
        .and_then(|mut s| s.query_row([contact], |r| r.get(0)))
        .map_err(sql)?;
    let mut suggestions: Vec<MergeSuggestion> =
        rows::json("merge suggestions", &stored).map_err(sql)?;
    crate::model::add_merge_suggestions(&mut suggestions, new);
    conn.prepare_cached("UPDATE contacts SET merge_suggestions = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute([contact, &to_json(&suggestions)]))
        .map_err(sql)?;
    Ok(())
}
