use super::{Enqueue, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Remembers, for a while, what a client's idempotency key was first used for, so a
/// retried request gets the first answer back and a different request under the same
/// key is refused.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Keeps `value` under `key` until `expires_at` unless the key is already held;
    /// returns the value held, which is `value` when this call stored it. Two callers
    /// racing get the same value: the one stored first. `key` is a digest, never the
    /// client's own key.
    async fn remember(
        &self,
        key: &str,
        value: String,
        expires_at: DateTime<Utc>,
    ) -> PortResult<String>;
}

/// Takes a keyed submission once: the key is held and its message sent as one step.
#[async_trait]
pub trait SendOnce: Send + Sync {
    /// Holds `value` under `key` until `expires_at` and puts `message` on the inbound
    /// queue, unless `key` is already held: then nothing is sent. Returns the value held,
    /// which is `value` when this call stored it.
    async fn send_once(
        &self,
        key: &str,
        value: String,
        expires_at: DateTime<Utc>,
        message: Enqueue,
    ) -> PortResult<String>;
}
