//! Outbound webhooks: an admin's subscription to the event log, and the log of what
//! was delivered to it.

use super::{Change, ChangeType, WebhookId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Most types one subscription may name (there are fewer types than this).
pub const MAX_TYPES: usize = 64;

/// An endpoint that gets the changes it asked for, signed with its own secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Subscription {
    pub id: WebhookId,
    /// Where deliveries are POSTed.
    pub url: String,
    pub description: Option<String>,
    /// The types it gets; empty: every type.
    pub types: Vec<ChangeType>,
    /// `whsec_` and the base64 key the signatures are made with. Shown once, when the
    /// subscription is made.
    #[serde(skip_serializing, default)]
    pub secret: String,
    /// The secret before the last rotation, which deliveries still sign with until
    /// `previous_secret_expires_at`.
    #[serde(skip_serializing, default)]
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub enabled: bool,
    /// Why it was turned off, when Switchboard turned it off.
    pub disabled_reason: Option<String>,
    /// Deliveries that failed for good since the last one that arrived.
    pub failures_in_a_row: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Counts the writes to it: a save names the version it read, so an admin's change
    /// and the sender's count of failures never undo each other.
    #[serde(default)]
    pub version: u64,
}

impl Subscription {
    /// The secrets a delivery at `now` is signed with: the current one, and the one
    /// before it while it lasts.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) =
            (&self.previous_secret, self.previous_secret_expires_at)
            && now < until
        {
            secrets.push(previous);
        }
        secrets
    }

    /// Whether a change of this type goes to it (a ping goes only when asked for).
    pub fn wants(&self, kind: ChangeType) -> bool {
        self.enabled
            && kind != ChangeType::WebhookPing
            && (self.types.is_empty() || self.types.contains(&kind))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookDeliveryStatus {
    /// Not yet accepted by the endpoint; the next try is at `next_attempt_at`.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up: a final answer (a 4xx other than 408 and 429), or every try failed.
    Failed,
}

impl WebhookDeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// What one try got back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttemptOutcome {
    pub at: DateTime<Utc>,
    /// The endpoint's HTTP status; none when no answer came (refused, timed out).
    pub response_status: Option<u16>,
    /// The start of the endpoint's answer, or why there was none.
    pub response: Option<String>,
    pub duration_ms: u64,
}

/// One change on its way to one subscription: the delivery log's line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookDelivery {
    /// The `Webhook-Id` every try of it carries.
    pub id: String,
    pub webhook_id: WebhookId,
    /// The log entry it carries.
    pub change: Change,
    pub status: WebhookDeliveryStatus,
    /// Tries since it was queued (a replay starts the count again).
    pub attempts: u32,
    pub last_attempt: Option<AttemptOutcome>,
    /// When the next try is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Times an admin sent it again.
    pub replays: u32,
}

impl WebhookDelivery {
    /// A new delivery of `change` to `webhook`, due at once.
    pub fn new(webhook: WebhookId, change: Change, now: DateTime<Utc>) -> Self {
        Self {
            id: delivery_id(webhook, &change.id),
            webhook_id: webhook,
            change,
            status: WebhookDeliveryStatus::Pending,
            attempts: 0,
            last_attempt: None,
            next_attempt_at: Some(now),
            created_at: now,
            replays: 0,
        }
    }
}

/// The delivery of `change` to `webhook`: the same for every reader of the log that
/// meets the change, so a change read twice is delivered once.
pub fn delivery_id(webhook: WebhookId, change_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(webhook.to_string())
        .chain_update([0])
        .chain_update(change_id)
        .finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("whd_{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_id_depends_on_both_the_webhook_and_the_change() {
        let (a, b) = (WebhookId::new(), WebhookId::new());
        assert_eq!(delivery_id(a, "lg_1"), delivery_id(a, "lg_1"));
        assert_ne!(delivery_id(a, "lg_1"), delivery_id(a, "lg_2"));
        assert_ne!(delivery_id(a, "lg_1"), delivery_id(b, "lg_1"));
        assert_eq!(delivery_id(a, "lg_1").len(), 4 + 32);
    }

    #[test]
    fn an_enabled_subscription_with_no_types_wants_every_type() {
        let now = Utc::now();
        let mut sub = Subscription {
            id: WebhookId::new(),
            url: "https://example.com/hook".into(),
            description: None,
            types: vec![],
            secret: "whsec_x".into(),
            previous_secret: None,
            previous_secret_expires_at: None,
            enabled: true,
            disabled_reason: None,
            failures_in_a_row: 0,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        assert!(
            ChangeType::ALL
                .iter()
                .filter(|t| **t != ChangeType::WebhookPing)
                .all(|t| sub.wants(*t))
        );
        assert!(!sub.wants(ChangeType::WebhookPing));
        sub.types = vec![ChangeType::MessageReceived];
        assert!(sub.wants(ChangeType::MessageReceived));
        assert!(!sub.wants(ChangeType::NoteAdded));
        sub.enabled = false;
        assert!(!sub.wants(ChangeType::MessageReceived));
    }
}
