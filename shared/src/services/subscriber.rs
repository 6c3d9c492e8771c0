//! A subscriber to the event log: one piece of code that reacts to changes, run the same
//! way on both backends. Locally a [`FeedConsumer`] reads the log from the position it
//! saved and hands the subscriber each batch; on AWS the event-log function hands it the
//! entries of each stream batch it logs. Either way a batch may come twice (delivery is
//! at least once), so a subscriber is idempotent by the entries' ids.

use super::error::ServiceResult;
use crate::model::Change;
use crate::ports::EventFeed;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[async_trait]
pub trait Subscriber: Send + Sync {
    /// Where it got to in the log is kept under this name.
    fn name(&self) -> &'static str;

    /// Reacts to `changes`, oldest first. An error has them handed over again.
    async fn handle(&self, changes: &[Change]) -> ServiceResult<()>;
}

/// Entries one read of the log hands a subscriber.
const BATCH: usize = 100;

/// Runs a subscriber over the log in this process.
pub struct FeedConsumer {
    pub feed: Arc<dyn EventFeed>,
    pub subscriber: Arc<dyn Subscriber>,
}

impl FeedConsumer {
    /// Runs until `shutdown` turns true. A subscriber met for the first time starts at
    /// the newest entry: it reacts to what happens from now on.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let name = self.subscriber.name();
        let mut position = None;
        while !*shutdown.borrow() {
            let wait = match self.step(&mut position).await {
                Ok(true) => continue,
                Ok(false) => self.feed.poll_interval(),
                Err(e) => {
                    tracing::error!(subscriber = name, error = %e, "subscriber failed; trying again");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Hands over one batch; true when there was one.
    pub async fn step(&self, position: &mut Option<String>) -> ServiceResult<bool> {
        self.step_of(position, BATCH).await
    }

    /// Hands over one batch of at most `batch` entries; true when there was one.
    pub async fn step_of(
        &self,
        position: &mut Option<String>,
        batch: usize,
    ) -> ServiceResult<bool> {
        let name = self.subscriber.name();
        let from = match position.take() {
            Some(at) => at,
            None => match self.feed.consumer_position(name).await? {
                Some(at) => at,
                None => {
                    let at = self.feed.latest_cursor().await?;
                    self.feed.save_consumer_position(name, &at).await?;
                    at
                }
            },
        };
        let changes = match self.feed.changes_after(Some(&from), batch).await {
            Ok(changes) => changes,
            Err(e) => {
                *position = Some(from);
                return Err(e.into());
            }
        };
        let Some(last) = changes.last().map(|c| c.cursor.clone()) else {
            *position = Some(from);
            return Ok(false);
        };
        if let Err(e) = self.subscriber.handle(&changes).await {
            *position = Some(from);
            return Err(e);
        }
        self.feed.save_consumer_position(name, &last).await?;
        *position = Some(last);
        Ok(true)
    }
}
