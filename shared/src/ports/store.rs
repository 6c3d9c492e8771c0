use super::{Page, PageRequest, PortResult};
use crate::model::{
    Agent, AgentId, Assignment, CannedReplyId, Channel, Contact, ContactId, ContactProfile,
    Conversation, ConversationId, ConversationStatus, DeliveryStatus, Event, EventId, Identity,
    InboundMessage, Message, MessageId, Note, NoteId, Priority, Reachability, SourceId, Team,
    TeamId, TimelineItem,
};
use crate::services::route::RoutePolicy;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// What became of one routed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteOutcome {
    Stored {
        message_id: MessageId,
        conversation_id: ConversationId,
        contact_id: ContactId,
        new_conversation: bool,
        /// The canned replies the rules answer it with.
        auto_replies: Vec<CannedReplyId>,
    },
    /// A message with this source id was stored before; nothing changed.
    Duplicate { message_id: MessageId },
    /// A message with this source id was stored and erased since (with its contact's
    /// data, or past its retention): a redelivery of it stores nothing again.
    Erased,
}

/// How far back [`ConversationStore::latest_messages`] looks: the latest timeline items
/// of a conversation read to find its latest messages. [`ConversationStore::messages_before`]
/// reads no more than this many either.
pub const LATEST_SCAN_ITEMS: usize = 500;

/// A window of a conversation's messages, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageWindow {
    pub messages: Vec<Message>,
    /// Where the next older window starts: pass it as `before`. None when no older
    /// message remains.
    pub older: Option<ulid::Ulid>,
}

/// Stores inbound messages: identity → contact → conversation → message, in one
/// consistent step, at most once per source id. The decisions are the policy's
/// (`services::route`); the store supplies what it reads and applies what it decides.
#[async_trait]
pub trait RoutingStore: Send + Sync {
    async fn route(
        &self,
        message: &InboundMessage,
        policy: &RoutePolicy,
    ) -> PortResult<RouteOutcome>;

    /// Records that the contact holding `identity` blocked (or unblocked) us on
    /// `channel`: on the contact, and as an event on their latest conversation. Returns
    /// the contact; none when nobody holds the identity. Idempotent: news that changes
    /// nothing records nothing.
    async fn set_reachability(
        &self,
        identity: &Identity,
        channel: Channel,
        reachability: Reachability,
        at: DateTime<Utc>,
    ) -> PortResult<Option<ContactId>>;

    /// Applies a customer's proof of an address they typed, as
    /// [`decide_proof`](crate::services::proof::decide_proof) says: the identity becomes
    /// proven on their contact, or their contact folds into the one already holding it
    /// proven. Returns the contact holding it now; none when nothing applied (the
    /// contact is gone or no longer holds it). Repeating it changes nothing.
    async fn prove_identity(
        &self,
        proof: &crate::ports::PendingProof,
        at: DateTime<Utc>,
    ) -> PortResult<Option<ContactId>>;
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatusFilter {
    #[default]
    All,
    Only(ConversationStatus),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AssigneeFilter {
    #[default]
    Anyone,
    Unassigned,
    Agent(AgentId),
}

/// Which conversations a list shows; newest activity first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationFilter {
    pub status: StatusFilter,
    pub assignee: AssigneeFilter,
    pub team: Option<TeamId>,
    pub channel: Option<Channel>,
    pub tag: Option<String>,
    pub priority: Option<Priority>,
    pub contact: Option<ContactId>,
    /// Words to find in the subject, the messages or the contact's name.
    pub query: Option<String>,
    /// Only conversations where the customer wrote last and waits for an answer.
    pub waiting: bool,
}

impl ConversationFilter {
    /// Whether the filter lets `c` through, all but the words of `query`: the meaning of
    /// each field, which the DynamoDB store applies as written and the SQLite store
    /// states as its `WHERE` clause.
    pub fn admits(&self, c: &Conversation) -> bool {
        let filter = self;
        let status_ok = match filter.status {
            StatusFilter::All => true,
            StatusFilter::Only(status) => c.status == status,
        };
        let assignee_ok = match filter.assignee {
            AssigneeFilter::Anyone => true,
            AssigneeFilter::Unassigned => c.assignee_id.is_none(),
            AssigneeFilter::Agent(agent) => c.assignee_id == Some(agent),
        };
        status_ok
            && assignee_ok
            && filter.team.is_none_or(|t| c.team_id == Some(t))
            && filter.priority.is_none_or(|p| c.priority == p)
            && filter
                .channel
                .is_none_or(|ch: Channel| c.channels.contains(&ch))
            && filter.contact.is_none_or(|ct| c.contact_id == ct)
            && filter.tag.as_ref().is_none_or(|t| c.tags.contains(t))
            && (!filter.waiting || c.waiting_since.is_some())
    }
}

#[async_trait]
pub trait ConversationStore: Send + Sync {
    async fn list_conversations(
        &self,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> PortResult<Page<Conversation>>;
    async fn conversation(&self, id: ConversationId) -> PortResult<Option<Conversation>>;
    /// Saves a changed conversation with the events that explain the change, only if
    /// its stored version is still `expected_version` (else `Conflict`). Bumps the version.
    async fn save_conversation(
        &self,
        conversation: &Conversation,
        expected_version: u64,
        events: &[Event],
    ) -> PortResult<Conversation>;
    /// Folds `from` into `into` (two conversations of one contact): every message, note
    /// and event of `from` moves to `into`'s timeline, `into` is saved as given with
    /// `event` if its stored version is still `expected_version`, and `from` is removed if
    /// its stored version is still `from.version` (else `Conflict`). Where the move takes
    /// more than one transaction (DynamoDB), a conflict leaves it part-done and repeating
    /// the fold with both read again finishes it.
    async fn fold_conversation(
        &self,
        from: &Conversation,
        into: &Conversation,
        expected_version: u64,
        event: &Event,
    ) -> PortResult<Conversation>;
    /// Messages, notes and events, oldest first.
    async fn timeline(
        &self,
        id: ConversationId,
        page: &PageRequest,
    ) -> PortResult<Page<TimelineItem>>;
    /// The conversation's latest messages, newest first: at most `count`, found among
    /// its latest [`LATEST_SCAN_ITEMS`] timeline items (notes and events count too).
    async fn latest_messages(&self, id: ConversationId, count: usize) -> PortResult<Vec<Message>>;
    /// The conversation's messages from before the timeline position `before` (a
    /// previous window's `older`, or any item's id; none: from the newest), newest first:
    /// at most `count` (up to [`super::MAX_PAGE_SIZE`]), found among at most
    /// [`LATEST_SCAN_ITEMS`] timeline items. `older` is set whenever older messages may
    /// remain (it may also be set when only notes and events do).
    async fn messages_before(
        &self,
        id: ConversationId,
        before: Option<ulid::Ulid>,
        count: usize,
    ) -> PortResult<MessageWindow>;
    async fn add_note(&self, note: &Note) -> PortResult<()>;
    /// One note of the conversation's timeline.
    async fn note(&self, id: ConversationId, note: NoteId) -> PortResult<Option<Note>>;
    /// One event of the conversation's timeline.
    async fn event(&self, id: ConversationId, event: EventId) -> PortResult<Option<Event>>;
    /// Snoozed conversations whose time has come, soonest first.
    async fn snoozed_until_before(
        &self,
        at: DateTime<Utc>,
        limit: u32,
    ) -> PortResult<Vec<Conversation>>;
    /// The conversation a customer-page link (its token's SHA-256, hex) opens.
    async fn conversation_for_link(&self, link_hash: &str) -> PortResult<Option<ConversationId>>;
    /// Conversations in `status` last changed after `after` (a last change and the id
    /// of the conversation it was, where the previous call ended; no id: from that time
    /// on) and at or before `until`, least recently changed first: at most `limit`.
    async fn changed_between(
        &self,
        status: ConversationStatus,
        after: (DateTime<Utc>, Option<ConversationId>),
        until: DateTime<Utc>,
        limit: u32,
    ) -> PortResult<Vec<Conversation>>;
}

#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Stores an agent's reply (status `queued`) and bumps its conversation.
    async fn add_outbound(&self, message: &Message) -> PortResult<()>;
    async fn message(&self, id: MessageId) -> PortResult<Option<Message>>;
    /// Marks a queued reply `sending`, just before it is handed to the provider: false
    /// when it is no longer queued (another attempt has it, or had it).
    async fn claim_send(&self, id: MessageId) -> PortResult<bool>;
    async fn set_delivery_status(
        &self,
        id: MessageId,
        status: DeliveryStatus,
        error: Option<&str>,
        provider_id: Option<&str>,
    ) -> PortResult<()>;
    /// The reply the provider knows by `provider_id` (as `set_delivery_status` stored it).
    async fn message_by_provider_id(&self, provider_id: &str) -> PortResult<Option<MessageId>>;
    /// The message stored with this source id (a customer's email, by sender and
    /// Message-ID).
    async fn message_by_source_id(&self, source_id: &SourceId) -> PortResult<Option<MessageId>>;
    /// A provider's later verdict on a reply it took (delivered, or failed: a bounce):
    /// recorded only while the reply is still `sent`, in one conditional write, so a
    /// late or repeated report never overturns a settled reply. True when it changed.
    async fn settle_delivery(
        &self,
        id: MessageId,
        status: DeliveryStatus,
        error: Option<&str>,
    ) -> PortResult<bool>;
}

#[async_trait]
pub trait ContactStore: Send + Sync {
    /// Contacts whose name or identity contains `query`, newest first; all when empty.
    async fn search_contacts(&self, query: &str, page: &PageRequest) -> PortResult<Page<Contact>>;
    async fn contact(&self, id: ContactId) -> PortResult<Option<Contact>>;
    /// Sets the contact's tags and VIP mark; none when there is no such contact.
    async fn set_contact_profile(
        &self,
        id: ContactId,
        profile: &ContactProfile,
        at: DateTime<Utc>,
    ) -> PortResult<Option<Contact>>;
    /// Every message, note and event of the contact's conversations, newest first
    /// (by id, which sorts by creation across kinds and conversations).
    async fn contact_timeline(
        &self,
        id: ContactId,
        page: &PageRequest,
    ) -> PortResult<Page<TimelineItem>>;
    /// `absorbed`'s identities, conversations and messages move to `survivor`;
    /// `absorbed` is gone afterwards. Returns the survivor as it now stands.
    async fn merge_contacts(
        &self,
        survivor: ContactId,
        absorbed: ContactId,
        actor: AgentId,
        at: DateTime<Utc>,
    ) -> PortResult<Contact>;
}

#[async_trait]
pub trait AgentStore: Send + Sync {
    /// `Conflict` when the email is taken.
    async fn create_agent(&self, agent: &Agent, key_hash: &str) -> PortResult<()>;
    async fn agent_by_key_hash(&self, key_hash: &str) -> PortResult<Option<Agent>>;
    async fn agent(&self, id: AgentId) -> PortResult<Option<Agent>>;
    async fn list_agents(&self, page: &PageRequest) -> PortResult<Page<Agent>>;
    async fn save_agent(&self, agent: &Agent) -> PortResult<()>;
    /// Makes `key_hash` the agent's only key: the one before stops working at once.
    /// `NotFound` when there is no such agent.
    async fn replace_agent_key(&self, id: AgentId, key_hash: &str) -> PortResult<()>;
    /// Notes that the agent used the API at `at`; `back`: they were set away for idling
    /// and are available again (unless they changed it themselves meanwhile).
    async fn mark_seen(&self, id: AgentId, at: DateTime<Utc>, back: bool) -> PortResult<()>;
    /// Sets the agent away for idling, if they are still available and were last seen
    /// when `seen` says (none: never); false when they changed meanwhile.
    async fn set_idle_away(&self, id: AgentId, seen: Option<DateTime<Utc>>) -> PortResult<bool>;
}

#[async_trait]
pub trait TeamStore: Send + Sync {
    /// `Conflict` when the name is taken.
    async fn create_team(&self, team: &Team) -> PortResult<()>;
    async fn team(&self, id: TeamId) -> PortResult<Option<Team>>;
    /// False when there is no such team.
    async fn set_team_assignment(&self, id: TeamId, assignment: Assignment) -> PortResult<bool>;
    /// Whether the bot answers the team's new conversations first. False when there is
    /// no such team.
    async fn set_team_bot(&self, id: TeamId, answers_first: bool) -> PortResult<bool>;
    async fn list_teams(&self) -> PortResult<Vec<Team>>;
}
