//! Time-driven changes: snoozed conversations come back when their time comes, and
//! agents idle too long are set away.

use crate::model::{ConversationStatus, Event, EventKind};
use crate::ports::{AgentStore, ConversationStore, PortError, PortResult};
use chrono::{DateTime, Duration, Utc};

/// Sets away every available agent who has not used the API for `idle` (their next
/// request makes them available again); returns how many.
pub async fn away_when_idle(
    agents: &dyn AgentStore,
    idle: Duration,
    now: DateTime<Utc>,
) -> PortResult<usize> {
    let mut set = 0;
    for agent in super::directory::every_agent(agents).await? {
        // Only if they are as read: one who chose otherwise, or was seen, meanwhile stays.
        if agent.idle_for(idle, now) && agents.set_idle_away(agent.id, agent.last_seen_at).await? {
            tracing::info!(agent_id = %agent.id, "an idle agent set away");
            set += 1;
        }
    }
    Ok(set)
}

/// Reopens every snoozed conversation whose `snoozed_until` has passed; returns how many.
pub async fn wake_snoozed(
    conversations: &dyn ConversationStore,
    now: DateTime<Utc>,
) -> PortResult<usize> {
    let mut woken = 0;
    loop {
        let due = conversations.snoozed_until_before(now, 100).await?;
        let batch = due.len();
        for c in due {
            let mut next = c.clone();
            next.status = ConversationStatus::Open;
            next.snoozed_until = None;
            next.updated_at = now;
            let event = Event::new(
                c.id,
                EventKind::StatusChanged {
                    from: ConversationStatus::Snoozed,
                    to: ConversationStatus::Open,
                },
                None,
                now,
            );
            match conversations
                .save_conversation(&next, c.version, &[event])
                .await
            {
                Ok(_) => {
                    woken += 1;
                    tracing::info!(conversation_id = %c.id, "snoozed conversation is open again");
                }
                // Someone changed it meanwhile; their change stands.
                Err(PortError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if batch < 100 {
            return Ok(woken);
        }
    }
}
