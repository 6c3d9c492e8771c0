//! Who answered a call: a PBX names the extension (`answeringNumber`) and the agent as it
//! knows them (`user`). The conversation of an answered call goes to the agent whose
//! phone extension, else whose name, matches; an unknown answerer stays the raw text
//! the call's item already reads.

use crate::channels::pbx::call::{ANSWERED_BY, ANSWERING_NUMBER};
use crate::model::{Agent, AgentId, Conversation, ConversationId, Event, EventKind};
use crate::ports::{AgentStore, ConversationStore, PageRequest, PortError, PortResult};
use chrono::Utc;

/// The agent a call item's context names as the one who answered; none when it names
/// nobody we know.
pub async fn answering_agent(
    agents: &dyn AgentStore,
    context: &[(String, String)],
) -> PortResult<Option<AgentId>> {
    let find = |key: &str| {
        context
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_owned())
    };
    let (number, name) = (find(ANSWERING_NUMBER), find(ANSWERED_BY));
    if number.is_none() && name.is_none() {
        return Ok(None);
    }
    let mut by_name = None;
    let mut page = PageRequest {
        limit: 100,
        cursor: None,
    };
    // Agents are few (a team, not a crowd): one page, rarely more.
    loop {
        let listed = agents.list_agents(&page).await?;
        for agent in &listed.items {
            if number.is_some() && agent.phone_extension == number {
                return Ok(Some(agent.id));
            }
            if by_name.is_none() && name.as_deref().is_some_and(|n| named(agent, n)) {
                by_name = Some(agent.id);
            }
        }
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(by_name),
        }
    }
}

/// A PBX `user` names an agent by their name or their extension.
fn named(agent: &Agent, name: &str) -> bool {
    agent.name.eq_ignore_ascii_case(name) || agent.phone_extension.as_deref() == Some(name)
}

/// Gives conversation `id` to `agent`, with an `assigned` event; nothing when it is
/// theirs already. Retries a write that lost a race.
pub async fn assign(
    conversations: &dyn ConversationStore,
    id: ConversationId,
    agent: AgentId,
) -> PortResult<()> {
    for _ in 0..3 {
        let Some(current) = conversations.conversation(id).await? else {
            return Ok(());
        };
        if current.assignee_id == Some(agent) {
            return Ok(());
        }
        let next = Conversation {
            assignee_id: Some(agent),
            ..current.clone()
        };
        let event = Event::new(
            id,
            EventKind::Assigned {
                from: current.assignee_id,
                to: Some(agent),
            },
            None,
            Utc::now(),
        );
        match conversations
            .save_conversation(&next, current.version, &[event])
            .await
        {
            Err(PortError::Conflict(_)) => continue,
            other => return other.map(|_| ()),
        }
    }
    Err(PortError::Conflict(
        "the conversation kept changing while it was assigned".into(),
    ))
}
