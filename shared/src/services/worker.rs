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

    /// Handles one batch concurrently (a queue that keeps group order: each group in
    /// its order); returns how many deliveries it saw.
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
        let outcomes = if self.name.keeps_group_order() {
            in_group_order(deliveries, handle).await
        } else {
            futures::future::join_all(deliveries.into_iter().map(handle)).await
        };
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

/// Handles the groups of a batch side by side, each in its order; once one of a group
/// must be tried again, those after it go back untried, at once: the queue holds them
/// behind it and hands the group out in order again. Answers in the batch's order.
async fn in_group_order<H, F>(deliveries: Vec<Delivery>, handle: &H) -> Vec<Handled>
where
    H: Fn(Delivery) -> F + Send + Sync,
    F: Future<Output = Handled> + Send,
{
    let count = deliveries.len();
    // A batch's groups, each with its deliveries and their places in the batch.
    type Group = (Option<String>, Vec<(usize, Delivery)>);
    let mut groups: Vec<Group> = Vec::new();
    for (index, delivery) in deliveries.into_iter().enumerate() {
        match groups
            .iter_mut()
            .find(|(g, _)| g.is_some() && *g == delivery.group)
        {
            Some((_, members)) => members.push((index, delivery)),
            None => groups.push((delivery.group.clone(), vec![(index, delivery)])),
        }
    }
    let answered = futures::future::join_all(groups.into_iter().map(|(_, members)| async move {
        let mut answers = Vec::with_capacity(members.len());
        let mut held = false;
        for (index, delivery) in members {
            let answer = if held {
                Handled::Retry {
                    after: Duration::ZERO,
                    reason: "waits behind an earlier message of its group".into(),
                }
            } else {
                handle(delivery).await
            };
            held |= matches!(answer, Handled::Retry { .. });
            answers.push((index, answer));
        }
        answers
    }))
    .await;
    let mut outcomes: Vec<Option<Handled>> = (0..count).map(|_| None).collect();
    for (index, answer) in answered.into_iter().flatten() {
        outcomes[index] = Some(answer);
    }
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Handled::Done))
        .collect()
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

    fn delivery(body: &str, group: &str) -> Delivery {
        Delivery {
            id: body.into(),
            receipt: body.into(),
            body: body.as_bytes().to_vec(),
            receive_count: 1,
            group: Some(group.into()),
        }
    }

    #[tokio::test]
    async fn what_follows_a_retry_in_its_group_goes_back_untried() {
        let handled = std::sync::Mutex::new(Vec::new());
        let handle = |d: Delivery| {
            handled.lock().unwrap().push(d.id.clone());
            async move {
                if d.id == "a1" {
                    Handled::Retry {
                        after: Duration::from_secs(5),
                        reason: "503".into(),
                    }
                } else {
                    Handled::Done
                }
            }
        };
        let batch = vec![
            delivery("a1", "a"),
            delivery("b1", "b"),
            delivery("a2", "a"),
            delivery("b2", "b"),
        ];
        let outcomes = in_group_order(batch, &handle).await;
        let mut tried = handled.lock().unwrap().clone();
        tried.sort();
        assert_eq!(tried, ["a1", "b1", "b2"], "a2 was not tried");
        assert!(
            matches!(outcomes[0], Handled::Retry { after, .. } if after == Duration::from_secs(5))
        );
        assert!(matches!(outcomes[1], Handled::Done));
        assert!(matches!(outcomes[2], Handled::Retry { after, .. } if after == Duration::ZERO));
        assert!(matches!(outcomes[3], Handled::Done));
    }
}
