use super::PortResult;
use crate::model::{Rule, RuleId};
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
}
