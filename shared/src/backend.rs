//! The ports one installation runs on, and the services assembled from them. The local
//! server and every Lambda function build their services here, so the two cannot drift.

use crate::config::HttpConfig;
use crate::http::{AppState, limits::RateLimits, links::LinkSigner};
use crate::model::Channel;
use crate::ports::{
    AgentStore, BlobStore, ChannelSender, ContactStore, ConversationStore, MessageStore, Queue,
    RoutingStore, TeamStore,
};
use crate::services::directory::Directory;
use crate::services::inbox::{Inbox, MAX_REPLY_FILE_BYTES};
use crate::services::ingest::Ingest;
use crate::services::route::RoutePolicy;
use crate::services::router::{Fetchers, InboundRouter};
use crate::services::send::{CustomerPageSender, Sender};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Every store port of one backend, as one value.
pub trait Store:
    RoutingStore + ConversationStore + MessageStore + ContactStore + AgentStore + TeamStore + 'static
{
}

impl<T> Store for T where
    T: RoutingStore
        + ConversationStore
        + MessageStore
        + ContactStore
        + AgentStore
        + TeamStore
        + 'static
{
}

/// The channels replies go out on, by the channel they answer.
pub type Channels = HashMap<Channel, Arc<dyn ChannelSender>>;

/// The ports of one backend.
#[derive(Clone)]
pub struct Backend {
    pub routing: Arc<dyn RoutingStore>,
    pub conversations: Arc<dyn ConversationStore>,
    pub messages: Arc<dyn MessageStore>,
    pub contacts: Arc<dyn ContactStore>,
    pub agents: Arc<dyn AgentStore>,
    pub teams: Arc<dyn TeamStore>,
    pub queue: Arc<dyn Queue>,
    pub blobs: Arc<dyn BlobStore>,
}

impl Backend {
    pub fn new<S: Store>(store: Arc<S>, queue: Arc<dyn Queue>, blobs: Arc<dyn BlobStore>) -> Self {
        Self {
            routing: store.clone(),
            conversations: store.clone(),
            messages: store.clone(),
            contacts: store.clone(),
            agents: store.clone(),
            teams: store,
            queue,
            blobs,
        }
    }

    /// The agents' inbox; replies may be written on the channels in `channels`.
    pub fn inbox(&self, channels: &Channels) -> Inbox {
        let reply_channels: HashSet<Channel> = channels.keys().copied().collect();
        let file_channels: HashSet<Channel> = channels
            .iter()
            .filter(|(_, sender)| sender.sends_files())
            .map(|(channel, _)| *channel)
            .collect();
        Inbox {
            conversations: self.conversations.clone(),
            messages: self.messages.clone(),
            contacts: self.contacts.clone(),
            agents: self.agents.clone(),
            teams: self.teams.clone(),
            queue: self.queue.clone(),
            blobs: self.blobs.clone(),
            reply_channels: Arc::new(reply_channels),
            file_channels: Arc::new(file_channels),
            max_file_bytes: MAX_REPLY_FILE_BYTES,
        }
    }

    pub fn directory(&self) -> Directory {
        Directory {
            contacts: self.contacts.clone(),
            conversations: self.conversations.clone(),
            agents: self.agents.clone(),
            teams: self.teams.clone(),
        }
    }

    /// The router: stores inbound messages, fetching their files through `fetchers`.
    pub fn router(&self, policy: RoutePolicy, fetchers: Fetchers) -> InboundRouter {
        InboundRouter {
            routing: self.routing.clone(),
            messages: self.messages.clone(),
            queue: self.queue.clone(),
            blobs: self.blobs.clone(),
            fetchers: Arc::new(fetchers),
            policy,
        }
    }

    pub fn sender(&self, channels: Channels) -> Sender {
        Sender {
            messages: self.messages.clone(),
            conversations: self.conversations.clone(),
            contacts: self.contacts.clone(),
            routing: self.routing.clone(),
            blobs: self.blobs.clone(),
            channels: Arc::new(channels),
        }
    }

    /// What the HTTP routers need. `link_secret` signs the customer-page links.
    pub fn app_state(&self, http: HttpConfig, link_secret: &[u8], channels: &Channels) -> AppState {
        AppState {
            inbox: self.inbox(channels),
            directory: self.directory(),
            ingest: Ingest::new(self.queue.clone()),
            queue: self.queue.clone(),
            links: LinkSigner::new(link_secret),
            limits: Arc::new(RateLimits::new(http.webform_rate_per_minute)),
            config: Arc::new(http),
        }
    }
}

/// The reply channels every installation has: the customer page. Channel issues add
/// theirs beside it when configured.
pub fn base_channels() -> Channels {
    HashMap::from([(
        Channel::Web,
        Arc::new(CustomerPageSender) as Arc<dyn ChannelSender>,
    )])
}
