use super::PortResult;
use crate::model::{ContactId, ConversationId, Identity};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A customer's request to prove an address they typed: whoever brings back the secret
/// sent to it (a link by email, a code by SMS) proves it theirs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingProof {
    pub contact_id: ContactId,
    /// The customer page it was asked for, which says when it is done.
    pub conversation_id: ConversationId,
    pub identity: Identity,
}

impl PendingProof {
    /// What applying it records on the page's conversation.
    pub fn event(&self, at: DateTime<Utc>) -> crate::model::Event {
        crate::model::Event::new(
            self.conversation_id,
            crate::model::EventKind::IdentityProven {
                identity: self.identity.clone(),
            },
            None,
            at,
        )
    }
}

/// Pending proofs, each under a digest of its secret and good once.
#[async_trait]
pub trait ProofStore: Send + Sync {
    /// Keeps `proof` under `key` until `expires_at`.
    async fn put_proof(
        &self,
        key: &str,
        proof: &PendingProof,
        expires_at: DateTime<Utc>,
    ) -> PortResult<()>;

    /// Takes the unexpired proof under `key`: the first caller gets it, everybody after
    /// gets none.
    async fn take_proof(&self, key: &str) -> PortResult<Option<PendingProof>>;

    /// Counts one more try under `key` (kept until `expires_at`, which the first try
    /// sets) and returns how many there have been, this one included. A try is counted
    /// before what it tries is checked, so tries sent at once are all counted.
    async fn count_try(&self, key: &str, expires_at: DateTime<Utc>) -> PortResult<u32>;

    /// Forgets the tries counted under `key`: the next counts from one again.
    async fn forget_tries(&self, key: &str) -> PortResult<()>;
}
