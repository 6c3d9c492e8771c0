//! The in-process consumers of the embedded queue: the router and the sender loops.
//! On AWS the same handlers run in Lambda functions fed by SQS.

use crate::ports::{Delivery, PortResult, Queue, QueueName};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// What became of one delivery.
#[derive(Debug)]
pub enum Handled {
    Done,
    /// Try again after the delay; the reason is kept for the dead-letter list.
    Retry {
        after: Duration,
        reason: String,
    },
}

/// Backoff for the nth failed delivery: 1 s, 4 s, 16 s, 64 s, capped at 5 min.
pub fn backoff(receive_count: u32) -> Duration {
    Duration::from_secs(
        4u64.saturating_pow(receive_count.saturating_sub(1))
            .min(300),
    )
}

pub struct Worker {
    pub queue: Arc<dyn Queue>,
    pub name: QueueName,
    pub batch: usize,
    pub visibility: Duration,
    pub idle_wait: Duration,
}

impl Worker {
    /// Runs until `shutdown` turns true, finishing the batch in hand first.
    pub async fn run<H, F>(self, mut shutdown: watch::Receiver<bool>, handle: H)
    where
        H: Fn(Delivery) -> F + Send + Sync,
        F: Future<Output = Handled> + Send,
    {
        while !*shutdown.borrow() {
            match self.poll_once(&handle).await {
                Ok(0) => self.idle(&mut shutdown).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(queue = self.name.as_str(), error = %e, "queue poll failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        tracing::info!(queue = self.name.as_str(), "worker stopped");
    }

    /// Runs until `shutdown` turns true, each delivery on a task of its own from the
    /// moment it comes, at most `batch` at once: one that takes long (an endpoint slow to
    /// answer) holds nothing back but its own place. Finishes those in hand first.
    pub async fn run_each<H, F>(self, mut shutdown: watch::Receiver<bool>, handle: H)
    where
        H: Fn(Delivery) -> F + Send + Sync + 'static,
        F: Future<Output = Handled> + Send + 'static,
    {
        let handle = Arc::new(handle);
        let mut tasks = tokio::task::JoinSet::new();
        while !*shutdown.borrow() {
            while tasks.try_join_next().is_some() {}
            let free = self.batch.saturating_sub(tasks.len());
            if free == 0 {
                tokio::select! {
                    _ = tasks.join_next() => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let deliveries = match self.queue.receive(self.name, free, self.visibility).await {
                Ok(deliveries) => deliveries,
                Err(e) => {
                    tracing::error!(queue = self.name.as_str(), error = %e, "queue poll failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if deliveries.is_empty() {
                self.idle(&mut shutdown).await;
                continue;
            }
            for delivery in deliveries {
                let (handle, queue, name) = (handle.clone(), self.queue.clone(), self.name);
                tasks.spawn(async move {
                    let receipt = delivery.receipt.clone();
                    let settled = match handle(delivery).await {
                        Handled::Done => queue.ack(name, std::slice::from_ref(&receipt)).await,
                        Handled::Retry { after, reason } => {
                            queue.release(name, &receipt, after, &reason).await
                        }
                    };
                    if let Err(e) = settled {
                        // It comes back when its visibility ends.
                        tracing::error!(queue = name.as_str(), error = %e, "settling a delivery failed");
                    }
                });
            }
        }
        while tasks.join_next().await.is_some() {}
        tracing::info!(queue = self.name.as_str(), "worker stopped");
    }

    async fn idle(&self, shutdown: &mut watch::Receiver<bool>) {
        tokio::select! {
            _ = tokio::time::sleep(self.idle_wait) => {}
            _ = shutdown.changed() => {}
        }
    }

    /// Handles one batch concurrently; returns how many deliveries it saw.
    pub async fn poll_once<H, F>(&self, handle: &H) -> PortResult<usize>
    where
        H: Fn(Delivery) -> F + Send + Sync,
        F: Future<Output = Handled> + Send,
    {
        let deliveries = self
            .queue
            .receive(self.name, self.batch, self.visibility)
            .await?;
        let count = deliveries.len();
        let receipts: Vec<String> = deliveries.iter().map(|d| d.receipt.clone()).collect();
        // One batch is handled together, so the store can fold its writes into one commit.
        let outcomes = futures::future::join_all(deliveries.into_iter().map(handle)).await;
        let mut done = Vec::with_capacity(count);
        for (receipt, outcome) in receipts.into_iter().zip(outcomes) {
            match outcome {
                Handled::Done => done.push(receipt),
                Handled::Retry { after, reason } => {
                    self.queue
                        .release(self.name, &receipt, after, &reason)
                        .await?;
                }
            }
        }
        if !done.is_empty() {
            self.queue.ack(self.name, &done).await?;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(4));
        assert_eq!(backoff(3), Duration::from_secs(16));
        assert_eq!(backoff(9), Duration::from_secs(300));
    }
}
