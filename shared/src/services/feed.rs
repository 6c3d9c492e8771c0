//! The changes feed: the event log read from a client's cursor, waiting a while for
//! news when there is none yet (a long poll), so a browser learns of a change within a
//! second or two without asking many times a second.

use super::error::ServiceResult;
use crate::model::Change;
use crate::ports::EventFeed;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The longest a read of the feed waits for news.
pub const MAX_FEED_WAIT: Duration = Duration::from_secs(25);

/// Reads one process lets wait at once; one more answers at once with what there is.
/// Each holds a connection (locally) or an instance (on Lambda) while it waits.
pub const MAX_WAITING_READS: usize = 100;

/// What one read of the feed gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedPage {
    /// Oldest first.
    pub changes: Vec<Change>,
    /// Where the next read starts: the last entry's cursor, or the one read from when
    /// nothing came.
    pub next_cursor: String,
}

#[derive(Clone)]
pub struct ChangesFeed {
    feed: Arc<dyn EventFeed>,
    waiting: Arc<tokio::sync::Semaphore>,
}

impl ChangesFeed {
    pub fn new(feed: Arc<dyn EventFeed>) -> Self {
        Self {
            feed,
            waiting: Arc::new(tokio::sync::Semaphore::new(MAX_WAITING_READS)),
        }
    }

    /// At most `limit` entries after `after` (none: after the newest now, so only what
    /// comes next), waiting up to `wait` (at most [`MAX_FEED_WAIT`]) for the first.
    pub async fn read(
        &self,
        after: Option<&str>,
        limit: usize,
        wait: Duration,
    ) -> ServiceResult<FeedPage> {
        let start = match after {
            Some(cursor) => cursor.to_owned(),
            None => self.feed.latest_cursor().await?,
        };
        // Past the cap, a read does not wait: it answers with what there is.
        let permit = self.waiting.clone().try_acquire_owned().ok();
        let wait = if permit.is_some() {
            wait
        } else {
            Duration::ZERO
        };
        let deadline = Instant::now() + wait.min(MAX_FEED_WAIT);
        loop {
            let changes = self.feed.changes_after(Some(&start), limit).await?;
            let now = Instant::now();
            if !changes.is_empty() || now >= deadline {
                let next_cursor = changes.last().map_or(start, |c| c.cursor.clone());
                return Ok(FeedPage {
                    changes,
                    next_cursor,
                });
            }
            tokio::time::sleep(self.feed.poll_interval().min(deadline - now)).await;
        }
    }
}
