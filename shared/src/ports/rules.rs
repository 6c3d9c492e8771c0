use super::PortResult;
use crate::model::{CannedReply, CannedReplyId, Macro, MacroId, Rule, RuleId, TimerPlace};
use async_trait::async_trait;

/// The routing rules an admin sets, read whole by whatever runs them.
#[async_trait]
pub trait RuleStore: Send + Sync {
    /// Every rule, first made first (run them in [`crate::model::order_rules`] order).
    async fn rules(&self) -> PortResult<Vec<Rule>>;
    /// Creates or replaces it.
    async fn save_rule(&self, rule: &Rule) -> PortResult<()>;
    /// False when there was none.
    async fn delete_rule(&self, id: RuleId) -> PortResult<bool>;
    /// Where the timer `name` (an `idle` rule, its spell and a status) stopped reading.
    async fn timer_place(&self, name: &str) -> PortResult<Option<TimerPlace>>;
    async fn save_timer_place(&self, name: &str, place: &TimerPlace) -> PortResult<()>;
}

/// Canned replies and macros, read whole (a team keeps hundreds at most).
#[async_trait]
pub trait CannedStore: Send + Sync {
    /// Every canned reply, first made first.
    async fn canned_replies(&self) -> PortResult<Vec<CannedReply>>;
    /// Creates or replaces it.
    async fn save_canned_reply(&self, reply: &CannedReply) -> PortResult<()>;
    /// False when there was none.
    async fn delete_canned_reply(&self, id: CannedReplyId) -> PortResult<bool>;
    /// Every macro, first made first.
    async fn macros(&self) -> PortResult<Vec<Macro>>;
    /// Creates or replaces it.
    async fn save_macro(&self, m: &Macro) -> PortResult<()>;
    /// False when there was none.
    async fn delete_macro(&self, id: MacroId) -> PortResult<bool>;
}
