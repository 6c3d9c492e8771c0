use super::PortResult;
use crate::model::Change;
use async_trait::async_trait;

/// How long the log keeps an entry.
pub const LOG_RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// Most entries one read of the log returns.
pub const MAX_FEED_BATCH: usize = 500;

/// The event log, read in order from a position (see `model::change`). Each backend
/// writes it with the changes themselves; this only reads it, and keeps where each
/// named consumer got to.
#[async_trait]
pub trait EventFeed: Send + Sync {
    /// The entries after `after` (an entry's `cursor`; none: from the oldest kept),
    /// oldest first, at most `limit` (up to [`MAX_FEED_BATCH`]). `Invalid` when `after`
    /// is not a cursor of this log.
    async fn changes_after(&self, after: Option<&str>, limit: usize) -> PortResult<Vec<Change>>;

    /// The cursor a reader that wants only what comes next starts from: after the
    /// newest entry readable now.
    async fn latest_cursor(&self) -> PortResult<String>;

    /// Where the consumer `name` got to, as it last saved.
    async fn consumer_position(&self, name: &str) -> PortResult<Option<String>>;

    async fn save_consumer_position(&self, name: &str, cursor: &str) -> PortResult<()>;

    /// Forgets the entries logged before `before`; returns how many.
    async fn forget_before(&self, before: chrono::DateTime<chrono::Utc>) -> PortResult<u64>;

    /// How often a reader waiting for news may look again: what a read costs here.
    fn poll_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }
}
