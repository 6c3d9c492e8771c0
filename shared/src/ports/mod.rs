//! What the services need from the world, as small capability traits. Two families of
//! adapters implement them: `embedded` (one SQLite file and a folder) and, later, `aws`.

mod blob;
mod erasure;
mod feed;
mod files;
mod idempotency;
mod incidents;
mod knowledge;
mod notify;
mod proofs;
mod queue;
mod reports;
mod rules;
mod sender;
mod sessions;
mod settings;
mod sla;
mod store;
mod surveys;
mod webhooks;

pub use blob::{Blob, BlobStore, BlobVersion, check_blob_key};
pub use erasure::ErasureStore;
pub use feed::{EventFeed, LOG_RETENTION, MAX_FEED_BATCH};
pub use files::{FetchError, FetchedFile, FileFetcher};
pub use idempotency::{IdempotencyStore, SendOnce};
pub use incidents::IncidentStore;
pub use knowledge::KnowledgeStore;
pub use notify::{AgentMailer, AgentMessenger, ButtonAnswerer, NoticeStore};
pub use proofs::{PendingProof, ProofStore};
pub use queue::{DeadLetter, Delivery, Enqueue, Queue, QueueName};
pub use reports::{MAX_COUNTS, ReportStore};
pub use rules::{CannedStore, RuleStore};
pub use sender::{ChannelSender, Choice, OutboundDelivery, OutboundFile, SendError, Sent};
pub use sessions::{Credentials, Session, SessionStore};
pub use settings::SettingStore;
pub use sla::{DuePosition, SlaStore};
pub use store::{
    AgentStore, AssigneeFilter, ContactStore, ConversationFilter, ConversationStore,
    LATEST_SCAN_ITEMS, MessageStore, MessageWindow, RouteOutcome, RoutingStore, StatusFilter,
    TeamStore,
};
pub use surveys::SurveyStore;
pub use webhooks::{MAX_REPLAY, WebhookStore};

/// How a backend call failed, in words the services can act on.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("not found")]
    NotFound,
    /// A condition failed: somebody else changed the item first, or it already exists.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Worth retrying: the backend is busy or unreachable.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// The request can never succeed as it stands.
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("backend failure: {0}")]
    Internal(String),
}

pub type PortResult<T> = Result<T, PortError>;

/// Deliveries of one queue message before it is set aside as a dead letter.
pub const MAX_DELIVERIES: u32 = 5;

/// Most items one page may hold.
pub const MAX_PAGE_SIZE: u32 = 100;

/// A request for one page of a list: how many, and where the previous page ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    /// Opaque, from the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self {
            limit: limit.clamp(1, MAX_PAGE_SIZE),
            cursor: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}
