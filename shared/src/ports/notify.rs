use super::{PortResult, SendError};
use crate::model::{AgentId, AgentNotifications, EmailAddress};
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

/// Tells an agent something by email.
#[async_trait]
pub trait AgentMailer: Send + Sync {
    /// Sends a plain-text email to `to`.
    async fn mail(&self, to: &EmailAddress, subject: &str, text: &str) -> Result<(), SendError>;
}

/// Answers a button a customer pressed (a Telegram callback query), so their app stops
/// waiting and shows them `text`.
#[async_trait]
pub trait ButtonAnswerer: Send + Sync {
    async fn answer_button(&self, press_id: &str, text: &str) -> Result<(), SendError>;
}
