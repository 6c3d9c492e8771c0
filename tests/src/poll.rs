//! Waiting for asynchronous effects with a deadline, instead of sleeping blindly.

use std::time::{Duration, Instant};

/// How long routing and delivery may take in a test before it counts as a failure.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// Calls `check` every 100 ms until it returns `Some`, or panics after `deadline`
/// naming `what` was awaited.
pub async fn eventually<T>(
    what: &str,
    deadline: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            started.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
