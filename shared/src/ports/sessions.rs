//! Agents' passwords and the browser sessions they open.

use super::PortResult;
use crate::model::AgentId;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an agent signs in with, and how their wrong tries stand.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The password's argon2id hash (PHC string); none until one is set.
    pub password_hash: Option<String>,
    /// Wrong passwords in a row since the last sign-in or lockout.
    pub failures: u32,
    /// No sign-in is tried before this.
    pub locked_until: Option<DateTime<Utc>>,
    /// Sessions opened before this are over: the password was set (or removed) then. A
    /// session is checked against it at every request, so one opened while the password
    /// changed, or missed when the sessions were ended, opens nothing.
    pub sessions_valid_after: Option<DateTime<Utc>>,
}

/// A signed-in browser. Its cookie holds `<id>.<secret>`; only the secret's hash is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Public: admins list and end sessions by it.
    pub id: String,
    pub agent_id: AgentId,
    /// SHA-256 (hex) of the cookie's secret half.
    pub secret_hash: String,
    /// Sent back in `X-CSRF-Token` with every change the browser asks for.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The browser's `User-Agent`, cut to 200 characters, to tell sessions apart.
    pub user_agent: Option<String>,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// The agent's credentials (the default when they have none yet).
    async fn credentials(&self, agent: AgentId) -> PortResult<Credentials>;
    /// Sets (or, with none, removes) the password as of `at`: wrong tries and any lock
    /// are cleared, and sessions opened before `at` are over.
    async fn set_password(
        &self,
        agent: AgentId,
        hash: Option<&str>,
        at: DateTime<Utc>,
    ) -> PortResult<()>;
    /// Counts one more try (before the password is checked, so tries sent at once are
    /// all counted) and returns the credentials after it. At `lock_after`, the agent is
    /// locked until `lock_until` and the count starts again.
    async fn count_failure(
        &self,
        agent: AgentId,
        lock_after: u32,
        lock_until: DateTime<Utc>,
    ) -> PortResult<Credentials>;
    /// A right password: the count starts again.
    async fn clear_failures(&self, agent: AgentId) -> PortResult<()>;

    async fn create_session(&self, session: &Session) -> PortResult<()>;
    /// The session `id`, while it has not expired.
    async fn session(&self, id: &str) -> PortResult<Option<Session>>;
    /// Every session not yet expired, newest first.
    async fn sessions(&self) -> PortResult<Vec<Session>>;
    /// Ends one session; false when there was none.
    async fn end_session(&self, id: &str) -> PortResult<bool>;
    /// Ends every session of the agent; returns how many.
    async fn end_sessions_of(&self, agent: AgentId) -> PortResult<u32>;
}
