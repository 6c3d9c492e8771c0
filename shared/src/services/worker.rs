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
    /// Runs until `shutdown` turns true, handling each delivery of a batch on its own
    /// and all of them at once; finishes the batch in hand first.
    pub async fn run<H, F>(self, shutdown: watch::Receiver<bool>, handle: H)
    where
        H: Fn(Delivery) -> F + Send + Sync,
        F: Future<Output = Handled> + Send,
    {
        let handle = &handle;
        self.run_batches(shutdown, |batch: Vec<Delivery>| async move {
            // One batch is handled together, so the store can fold its writes into one
            // commit.
            futures::future::join_all(batch.into_iter().map(handle)).await
        })
        .await
    }

    /// Runs until `shutdown` turns true, handing each batch whole to `handle`, which
    /// answers for each delivery in the batch's order (a queue that keeps group order
    /// needs the batch: what follows a delivery that must wait, waits too).
    pub async fn run_batches<B, G>(self, mut shutdown: watch::Receiver<bool>, handle: B)
    where
        B: Fn(Vec<Delivery>) -> G + Send + Sync,
        G: Future<Output = Vec<Handled>> + Send,
    {
        while !*shutdown.borrow() {
            match self.poll_once(&handle).await {
                Ok(0) => {
                    tokio::select! {
                        _ = tokio::time::sleep(self.idle_wait) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(queue = self.name.as_str(), error = %e, "queue poll failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        tracing::info!(queue = self.name.as_str(), "worker stopped");
    }

    /// Handles one batch; returns how many deliveries it saw.
    pub async fn poll_once<B, G>(&self, handle: &B) -> PortResult<usize>
    where
        B: Fn(Vec<Delivery>) -> G + Send + Sync,
        G: Future<Output = Vec<Handled>> + Send,
    {
        let deliveries = self
            .queue
            .receive(self.name, self.batch, self.visibility)
            .await?;
        let count = deliveries.len();
        if count == 0 {
            return Ok(0);
        }
        let receipts: Vec<String> = deliveries.iter().map(|d| d.receipt.clone()).collect();
        let outcomes = handle(deliveries).await;
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
