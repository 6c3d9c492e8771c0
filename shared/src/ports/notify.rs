use super::{PortResult, SendError};
use crate::model::{AgentId, AgentNotifications};
use async_trait::async_trait;

/// Each agent's notification settings and linked chat.
#[async_trait]
pub trait NoticeStore: Send + Sync {
    async fn agent_notifications(&self, id: AgentId) -> PortResult<Option<AgentNotifications>>;
    /// Creates or replaces them.
    async fn save_agent_notifications(&self, settings: &AgentNotifications) -> PortResult<()>;
}

/// Tells an agent something in the chat they linked.
#[async_trait]
pub trait AgentMessenger: Send + Sync {
    /// Sends `text` (plain text) to `chat_id`.
    async fn tell(&self, chat_id: i64, text: &str) -> Result<(), SendError>;
}
