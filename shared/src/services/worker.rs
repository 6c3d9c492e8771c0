//! The in-process consumers of the embedded queue: the router and the sender loops.
//! On AWS the same handlers run in Lambda functions fed by SQS.

use crate::ports::{Delivery, PortResult, Queue, QueueName};
use futures::FutureExt;
use std::collections::{HashMap, VecDeque};
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
    /// Most deliveries received at once.
    pub batch: usize,
    /// Most deliveries handled at once (and four times as many in hand, with those
    /// waiting behind one of their group).
    pub in_flight: usize,
    /// Whether a group's deliveries in hand are handled one at a time, in order (a
    /// queue that hands out a group's next only once the one before is settled keeps
    /// the order itself).
    pub in_group_order: bool,
    pub visibility: Duration,
    pub idle_wait: Duration,
}

/// What became of one delivery's task.
type Finished = Result<(tokio::task::Id, Handled), tokio::task::JoinError>;

/// The deliveries in hand: each group's one being handled, and those waiting behind it.
#[derive(Default)]
struct InHand {
    tasks: tokio::task::JoinSet<Handled>,
    /// The group of each task's delivery.
    groups: HashMap<tokio::task::Id, Option<String>>,
    /// Each group being handled, with its next deliveries in order.
    waiting: HashMap<String, VecDeque<Delivery>>,
    /// Whether the worker is stopping: what waits is sent back, not begun.
    stopping: bool,
}

impl InHand {
    /// Deliveries in hand: those being handled and those waiting behind their group.
    fn count(&self) -> usize {
        self.tasks.len() + self.waiting.values().map(VecDeque::len).sum::<usize>()
    }
}

impl Worker {
    /// Runs until `shutdown` turns true, finishing the deliveries in hand first.
    ///
    /// Each delivery runs on a task of its own from the moment it comes, so one that
    /// takes long (an endpoint slow to answer) holds back nothing but its group, and the
    /// next deliveries are received while earlier ones are handled (the queue and the
    /// store each have a writer of their own). A group's deliveries are handled one at a
    /// time, in order, as on a FIFO queue; once one fails, those behind it wait with it.
    pub async fn run<H, F>(self, mut shutdown: watch::Receiver<bool>, handle: H)
    where
        H: Fn(Delivery) -> F + Send + Sync + 'static,
        F: Future<Output = Handled> + Send + 'static,
    {
        let handle = Arc::new(handle);
        let mut hand = InHand::default();
        // Whether the queue had fewer than asked for at the last look.
        let mut drained = false;
        while !*shutdown.borrow() {
            while let Some(finished) = hand.tasks.try_join_next_with_id() {
                self.finished(finished, &mut hand, &handle).await;
            }
            // Those waiting behind one of their group take no room from other groups
            // (one customer writing a lot holds back nobody else), up to four times the
            // room in all.
            let free = self
                .in_flight
                .saturating_sub(hand.tasks.len())
                .min((4 * self.in_flight).saturating_sub(hand.count()));
            // Received in lots of half the room at least, so a busy queue is not read a
            // delivery at a time.
            let lot = (self.in_flight / 2).clamp(1, self.batch);
            let look = hand.count() == 0 || (!drained && free >= lot);
            if !look {
                tokio::select! {
                    finished = hand.tasks.join_next_with_id() => match finished {
                        Some(finished) => {
                            self.finished(finished, &mut hand, &handle).await;
                            drained = false;
                        }
                        None => drained = false,
                    },
                    // One slow to finish keeps nobody else waiting: look again soon.
                    _ = tokio::time::sleep(self.idle_wait), if drained => drained = false,
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let asked = free.min(self.batch);
            match self.queue.receive(self.name, asked, self.visibility).await {
                Ok(deliveries) => {
                    drained = deliveries.len() < asked;
                    if deliveries.is_empty() && hand.count() == 0 {
                        self.idle(&mut shutdown).await;
                    }
                    for delivery in deliveries {
                        self.take(delivery, &mut hand, &handle);
                    }
                }
                Err(e) => {
                    tracing::error!(queue = self.name.as_str(), error = %e, "queue poll failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        hand.stopping = true;
        while let Some(finished) = hand.tasks.join_next_with_id().await {
            self.finished(finished, &mut hand, &handle).await;
        }
        tracing::info!(queue = self.name.as_str(), "worker stopped");
    }

    /// Starts `delivery`, or puts it behind the one of its group in hand.
    fn take<H, F>(&self, delivery: Delivery, hand: &mut InHand, handle: &Arc<H>)
    where
        H: Fn(Delivery) -> F + Send + Sync + 'static,
        F: Future<Output = Handled> + Send + 'static,
    {
        if let Some(group) = delivery.group.as_ref().filter(|_| self.in_group_order) {
            if let Some(behind) = hand.waiting.get_mut(group) {
                behind.push_back(delivery);
                return;
            }
            hand.waiting.insert(group.clone(), VecDeque::new());
        }
        self.start(delivery, hand, handle);
    }

    /// Handles `delivery` on a task of its own, and settles it with the queue.
    fn start<H, F>(&self, delivery: Delivery, hand: &mut InHand, handle: &Arc<H>)
    where
        H: Fn(Delivery) -> F + Send + Sync + 'static,
        F: Future<Output = Handled> + Send + 'static,
    {
        let (handle, queue, name) = (handle.clone(), self.queue.clone(), self.name);
        let group = delivery.group.clone();
        let task = hand.tasks.spawn(async move {
            let receipt = delivery.receipt.clone();
            // A handler that panics fails its delivery: it is tried again, like any
            // other failure.
            let handled = std::panic::AssertUnwindSafe(async move { handle(delivery).await })
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Handled::Retry {
                    after: Duration::from_secs(1),
                    reason: "the handler panicked".into(),
                });
            let settled = match &handled {
                Handled::Done => queue.ack(name, std::slice::from_ref(&receipt)).await,
                Handled::Retry { after, reason } => {
                    queue.release(name, &receipt, *after, reason).await
                }
            };
            if let Err(e) = settled {
                // It comes back when its visibility ends.
                tracing::error!(queue = name.as_str(), error = %e, "settling a delivery failed");
            }
            handled
        });
        hand.groups.insert(task.id(), group);
    }

    /// Counts a delivery done, and starts the next of its group (or, when it failed,
    /// sends the rest of its group back with it).
    async fn finished<H, F>(&self, finished: Finished, hand: &mut InHand, handle: &Arc<H>)
    where
        H: Fn(Delivery) -> F + Send + Sync + 'static,
        F: Future<Output = Handled> + Send + 'static,
    {
        let (group, handled) = match finished {
            Ok((id, handled)) => (hand.groups.remove(&id).flatten(), handled),
            Err(e) => {
                // A panic past the handler's own (settling it): the delivery comes back
                // when its visibility ends, and its group goes on without it.
                tracing::error!(queue = self.name.as_str(), error = %e, "a delivery's task failed");
                let handled = Handled::Retry {
                    after: Duration::from_secs(1),
                    reason: "the delivery's task failed".into(),
                };
                (hand.groups.remove(&e.id()).flatten(), handled)
            }
        };
        let Some(group) = group.filter(|_| self.in_group_order) else {
            return;
        };
        let Some(mut behind) = hand.waiting.remove(&group) else {
            return;
        };
        let handled = match handled {
            // Stopping: what waits goes back to the queue for whoever runs next.
            Handled::Done if hand.stopping => Handled::Retry {
                after: Duration::ZERO,
                reason: "the worker stopped".into(),
            },
            handled => handled,
        };
        match handled {
            Handled::Done => {
                if let Some(next) = behind.pop_front() {
                    // The group stays in hand: the next is handled, the rest wait.
                    hand.waiting.insert(group, behind);
                    self.start(next, hand, handle);
                }
            }
            Handled::Retry { after, .. } => {
                for delivery in behind {
                    let reason = "an earlier message of its group failed";
                    if let Err(e) = self
                        .queue
                        .release(self.name, &delivery.receipt, after, reason)
                        .await
                    {
                        tracing::warn!(queue = self.name.as_str(), error = %e, "a delivery waits for its visibility to end");
                    }
                }
            }
        }
    }

    /// Runs until `shutdown` turns true a batch at a time, each batch's deliveries side
    /// by side, finishing the batch in hand first. The sender runs so: the Telegram pace
    /// takes each chat's turn when a reply begins, and counts on a batch's replies
    /// taking their turns together.
    pub async fn run_in_batches<H, F>(self, mut shutdown: watch::Receiver<bool>, handle: H)
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

    async fn idle(&self, shutdown: &mut watch::Receiver<bool>) {
        tokio::select! {
            _ = tokio::time::sleep(self.idle_wait) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// `items` in groups, in the order of each group's first item, each group in order with
/// every item's position in `items`. An item without a group is a group of its own.
pub fn in_groups<T>(items: Vec<T>, group: impl Fn(&T) -> Option<&str>) -> Vec<Vec<(usize, T)>> {
    let mut groups: Vec<Vec<(usize, T)>> = Vec::new();
    let mut index_of: HashMap<String, usize> = HashMap::new();
    for (position, item) in items.into_iter().enumerate() {
        match group(&item).map(str::to_owned) {
            Some(key) => {
                let index = *index_of.entry(key).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[index].push((position, item));
            }
            None => groups.push(vec![(position, item)]),
        }
    }
    groups
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

    /// A worker over a real queue file: `handle` sees each delivery's body.
    async fn run_over_queue<H, F>(
        messages: &[(&str, &str)],
        in_group_order: bool,
        handle: H,
    ) -> Arc<crate::embedded::Embedded>
    where
        H: Fn(String, u32) -> F + Send + Sync + 'static,
        F: Future<Output = Handled> + Send + 'static,
    {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(crate::embedded::Embedded::open(&dir.path().join("w.db")).unwrap());
        let queue: Arc<dyn Queue> = store.clone();
        queue
            .send(
                QueueName::Inbound,
                messages
                    .iter()
                    .map(|(group, body)| crate::ports::Enqueue {
                        group: (*group).into(),
                        dedup: (*body).into(),
                        body: body.as_bytes().to_vec(),
                    })
                    .collect(),
            )
            .await
            .unwrap();
        let worker = Worker {
            queue,
            name: QueueName::Inbound,
            batch: 4,
            in_flight: 8,
            in_group_order,
            visibility: Duration::from_secs(60),
            idle_wait: Duration::from_millis(10),
        };
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(worker.run(stopped, move |d: Delivery| {
            handle(String::from_utf8(d.body).unwrap(), d.receive_count)
        }));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stop.send(true).unwrap();
        task.await.unwrap();
        std::mem::forget(dir);
        store
    }

    #[tokio::test]
    async fn a_group_is_handled_in_order_while_other_groups_go_on_beside_it() {
        let messages: Vec<(String, String)> = (0..30)
            .map(|n| (format!("g{}", n % 3), format!("g{}-{n:02}", n % 3)))
            .collect();
        let pairs: Vec<(&str, &str)> = messages
            .iter()
            .map(|(g, b)| (g.as_str(), b.as_str()))
            .collect();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let running = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        let widest = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (seen_in, running_in, widest_in) = (seen.clone(), running.clone(), widest.clone());
        run_over_queue(&pairs, true, move |body, _| {
            let (seen, running, widest) = (seen_in.clone(), running_in.clone(), widest_in.clone());
            async move {
                let group = body[..2].to_owned();
                {
                    let mut running = running.lock().unwrap();
                    if !running.insert(group.clone()) {
                        seen.lock().unwrap().push(format!("{group} twice at once"));
                    }
                    widest.fetch_max(running.len(), std::sync::atomic::Ordering::SeqCst);
                }
                // The earlier ones take longer: without the order, later ones overtake.
                let n: u64 = body[3..].parse().unwrap();
                tokio::time::sleep(Duration::from_millis(30 - n)).await;
                running.lock().unwrap().remove(&group);
                seen.lock().unwrap().push(body);
                Handled::Done
            }
        })
        .await;
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 30, "each handled once: {seen:?}");
        for group in ["g0", "g1", "g2"] {
            let order: Vec<&String> = seen.iter().filter(|b| b.starts_with(group)).collect();
            let mut sorted = order.clone();
            sorted.sort();
            assert_eq!(order, sorted, "{group} out of order");
        }
        // The groups went side by side.
        assert_eq!(widest.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn once_one_fails_the_rest_of_its_group_waits_and_comes_back_in_order() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen_in = seen.clone();
        run_over_queue(
            &[("a", "a1"), ("a", "a2"), ("a", "a3"), ("b", "b1")],
            true,
            move |body, receives| {
                let seen = seen_in.clone();
                async move {
                    seen.lock().unwrap().push(format!("{body}#{receives}"));
                    if body == "a1" && receives == 1 {
                        Handled::Retry {
                            after: Duration::from_millis(300),
                            reason: "not yet".into(),
                        }
                    } else {
                        Handled::Done
                    }
                }
            },
        )
        .await;
        let seen = seen.lock().unwrap().clone();
        let a: Vec<&String> = seen.iter().filter(|s| s.starts_with('a')).collect();
        assert_eq!(a, ["a1#1", "a1#2", "a2#2", "a3#2"], "{seen:?}");
        assert!(seen.contains(&"b1#1".to_owned()), "{seen:?}");
    }

    #[test]
    fn groups_keep_their_order_and_the_order_of_their_first_items() {
        let items = vec![("a", 1), ("b", 2), ("", 3), ("a", 4), ("", 5), ("b", 6)];
        let groups = in_groups(items, |(g, _)| (!g.is_empty()).then_some(*g));
        let numbers: Vec<Vec<(usize, i32)>> = groups
            .into_iter()
            .map(|g| g.into_iter().map(|(p, (_, n))| (p, n)).collect())
            .collect();
        assert_eq!(
            numbers,
            vec![
                vec![(0, 1), (3, 4)],
                vec![(1, 2), (5, 6)],
                vec![(2, 3)],
                vec![(4, 5)],
            ]
        );
    }
}
