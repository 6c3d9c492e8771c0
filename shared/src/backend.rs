//! The ports one installation runs on, and the services assembled from them. The local
//! server and every Lambda function build their services here, so the two cannot drift.

use crate::channels::email::ReplyTokens;
use crate::config::HttpConfig;
use crate::http::{
    ApiState, AppState, ChannelState, WebState, limits::RateLimits, links::CustomerLinks,
};
use crate::model::Channel;
use crate::ports::{
    AgentMailer, AgentMessenger, AgentStore, Blob, BlobStore, BlobVersion, CannedStore,
    ChannelSender, ContactStore, ConversationStore, ErasureStore, EventFeed, IdempotencyStore,
    IncidentStore, KnowledgeStore, MessageStore, NoticeStore, PortError, PortResult, ProofStore,
    Queue, ReportStore, RoutingStore, RuleStore, SendOnce, SessionStore, SettingStore, SlaStore,
    SurveyStore, TeamStore, WebhookStore,
};
use crate::services::directory::{Directory, new_secret};
use crate::services::feed::ChangesFeed;
use crate::services::inbox::{Inbox, MAX_REPLY_FILE_BYTES};
use crate::services::incidents::{IncidentKeeper, IncidentWorker, Incidents};
use crate::services::ingest::{Ingest, KeyThenSend};
use crate::services::notify::Notifier;
use crate::services::proof::Proofs;
use crate::services::rights::Rights;
use crate::services::route::RoutePolicy;
use crate::services::router::{Fetchers, InboundRouter};
use crate::services::send::{CustomerPageSender, Sender};
use crate::services::surveys::{SurveyKeeper, SurveyKey, Surveys};
use crate::services::webhooks::admin::Webhooks;
use crate::services::webhooks::deliver::WebhookDeliverer;
use crate::services::webhooks::fanout::WebhookFanout;
use crate::services::webhooks::payload::PayloadReader;
use crate::services::webhooks::post::WebhookClient;
use crate::services::webhooks::retry::RetrySchedule;
use crate::services::webhooks::target::TargetPolicy;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Every store port of one backend, as one value.
pub trait Store:
    RoutingStore
    + ConversationStore
    + MessageStore
    + ContactStore
    + AgentStore
    + TeamStore
    + SettingStore
    + IdempotencyStore
    + ProofStore
    + ErasureStore
    + EventFeed
    + WebhookStore
    + SlaStore
    + RuleStore
    + CannedStore
    + NoticeStore
    + ReportStore
    + SurveyStore
    + IncidentStore
    + SessionStore
    + KnowledgeStore
    + 'static
{
}

impl<T> Store for T where
    T: RoutingStore
        + ConversationStore
        + MessageStore
        + ContactStore
        + AgentStore
        + TeamStore
        + SettingStore
        + IdempotencyStore
        + ProofStore
        + ErasureStore
        + EventFeed
        + WebhookStore
        + SlaStore
        + RuleStore
        + CannedStore
        + NoticeStore
        + ReportStore
        + SurveyStore
        + IncidentStore
        + SessionStore
        + KnowledgeStore
        + 'static
{
}

/// The setting that keeps the key of the email reply tokens.
pub const REPLY_TOKEN_SETTING: &str = "email_reply_token_secret";

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
    pub settings: Arc<dyn SettingStore>,
    /// Keyed web-form submissions: the idempotency key held and the message queued.
    pub send_once: Arc<dyn SendOnce>,
    pub proofs: Arc<dyn ProofStore>,
    pub erasure: Arc<dyn ErasureStore>,
    /// The event log.
    pub feed: Arc<dyn EventFeed>,
    pub queue: Arc<dyn Queue>,
    /// Attachments. A process that keeps none (a Lambda function whose role reaches no
    /// bucket) has [`NoBlobs`], and links no blob client.
    pub blobs: Arc<dyn BlobStore>,
    /// Webhook subscriptions and their delivery log.
    pub webhooks: Arc<dyn WebhookStore>,
    /// Calendars, SLA policies and each conversation's clocks.
    pub slas: Arc<dyn SlaStore>,
    pub rules: Arc<dyn RuleStore>,
    pub canned: Arc<dyn CannedStore>,
    /// Each agent's notification settings and linked chat.
    pub notices: Arc<dyn NoticeStore>,
    /// Reporting tracks and counters.
    pub reports: Arc<dyn ReportStore>,
    /// Satisfaction surveys.
    pub surveys: Arc<dyn SurveyStore>,
    /// Incidents, their links and updates.
    pub incidents: Arc<dyn IncidentStore>,
    /// Agents' passwords and browser sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// Help-center articles.
    pub knowledge: Arc<dyn KnowledgeStore>,
    /// The knowledge search index this process holds, shared by all that search.
    pub knowledge_index: Arc<crate::services::knowledge::IndexCache>,
}

impl Backend {
    pub fn new<S: Store>(store: Arc<S>, queue: Arc<dyn Queue>) -> Self {
        Self {
            routing: store.clone(),
            conversations: store.clone(),
            messages: store.clone(),
            contacts: store.clone(),
            agents: store.clone(),
            teams: store.clone(),
            settings: store.clone(),
            send_once: Arc::new(KeyThenSend {
                keys: store.clone(),
                queue: queue.clone(),
            }),
            proofs: store.clone(),
            erasure: store.clone(),
            feed: store.clone(),
            slas: store.clone(),
            rules: store.clone(),
            canned: store.clone(),
            notices: store.clone(),
            reports: store.clone(),
            surveys: store.clone(),
            incidents: store.clone(),
            sessions: store.clone(),
            knowledge: store.clone(),
            knowledge_index: Arc::default(),
            webhooks: store,
            queue,
            blobs: Arc::new(NoBlobs),
        }
    }

    /// Webhooks for admins: subscriptions, pings, the delivery log, replays.
    pub fn webhooks(&self, targets: Arc<TargetPolicy>) -> Webhooks {
        Webhooks {
            store: self.webhooks.clone(),
            queue: self.queue.clone(),
            targets,
        }
    }

    /// The subscriber that records and queues the deliveries of each change.
    pub fn webhook_fanout(&self) -> WebhookFanout {
        WebhookFanout {
            store: self.webhooks.clone(),
            queue: self.queue.clone(),
        }
    }

    /// The consumer of the webhooks queue.
    pub fn webhook_deliverer(
        &self,
        client: Arc<WebhookClient>,
        schedule: RetrySchedule,
    ) -> WebhookDeliverer {
        WebhookDeliverer {
            store: self.webhooks.clone(),
            payloads: PayloadReader {
                conversations: self.conversations.clone(),
                contacts: self.contacts.clone(),
                messages: self.messages.clone(),
                incidents: self.incidents.clone(),
            },
            client,
            schedule,
        }
    }

    /// The same ports, with keyed submissions taken by `send_once`: a backend whose keys
    /// live beside its queue holds the key and queues the message in one transaction.
    pub fn with_send_once(self, send_once: Arc<dyn SendOnce>) -> Self {
        Self { send_once, ..self }
    }

    /// The same ports, with attachments kept in `blobs`.
    pub fn with_blobs(self, blobs: Arc<dyn BlobStore>) -> Self {
        Self { blobs, ..self }
    }

    /// The agents' inbox; replies may be written on the channels some process sends
    /// on ([`reply_channels`] of its senders).
    pub fn inbox(&self, replies: &ReplyChannels) -> Inbox {
        Inbox {
            conversations: self.conversations.clone(),
            messages: self.messages.clone(),
            contacts: self.contacts.clone(),
            agents: self.agents.clone(),
            teams: self.teams.clone(),
            queue: self.queue.clone(),
            blobs: self.blobs.clone(),
            slas: self.slas.clone(),
            reply_channels: Arc::new(replies.text.clone()),
            file_channels: Arc::new(replies.files.clone()),
            max_file_bytes: MAX_REPLY_FILE_BYTES,
        }
    }

    /// The installation's email reply tokens: the key is made by the first process that
    /// asks and kept in the store, so the sender that mints a token and the router that
    /// checks it (local or on Lambda) share it.
    pub async fn reply_tokens(&self) -> PortResult<ReplyTokens> {
        let key = self
            .settings
            .setting_or_init(REPLY_TOKEN_SETTING, new_secret("").0)
            .await?;
        Ok(ReplyTokens::new(key.as_bytes()))
    }

    /// Satisfaction surveys: their settings, answers and key.
    pub fn surveys(&self) -> Surveys {
        Surveys {
            store: self.surveys.clone(),
            conversations: self.conversations.clone(),
            key: SurveyKey::new(self.surveys.clone()),
        }
    }

    /// The subscriber that asks for a rating when a conversation is resolved.
    pub fn survey_keeper(&self) -> SurveyKeeper {
        SurveyKeeper {
            conversations: self.conversations.clone(),
            contacts: self.contacts.clone(),
            surveys: self.surveys.clone(),
            queue: self.queue.clone(),
            key: SurveyKey::new(self.surveys.clone()),
        }
    }

    /// Customers' data rights: export, history, erasure, retention. Erasing deletes
    /// files, so a process that erases needs its blob store.
    pub fn rights(&self) -> Rights {
        Rights {
            erasure: self.erasure.clone(),
            contacts: self.contacts.clone(),
            blobs: self.blobs.clone(),
        }
    }

    /// The knowledge base; its index is kept in the blob store.
    pub fn knowledge(&self) -> crate::services::knowledge::Knowledge {
        crate::services::knowledge::Knowledge {
            store: self.knowledge.clone(),
            blobs: self.blobs.clone(),
            cache: self.knowledge_index.clone(),
        }
    }

    pub fn directory(&self) -> Directory {
        Directory {
            contacts: self.contacts.clone(),
            conversations: self.conversations.clone(),
            agents: self.agents.clone(),
            teams: self.teams.clone(),
            sessions: self.sessions.clone(),
            tries: self.proofs.clone(),
        }
    }

    /// The router: stores inbound messages, fetching their files through `fetchers`.
    pub fn router(&self, policy: RoutePolicy, fetchers: Fetchers) -> InboundRouter {
        let answer_first =
            (!policy.answer_first.is_empty()).then(|| crate::services::answer_first::AnswerFirst {
                knowledge: self.knowledge(),
                channels: policy.answer_first.clone(),
                base_url: String::new(),
                language: "en".to_owned(),
            });
        InboundRouter {
            teams: self.teams.clone(),
            routing: self.routing.clone(),
            messages: self.messages.clone(),
            conversations: self.conversations.clone(),
            agents: self.agents.clone(),
            queue: self.queue.clone(),
            blobs: self.blobs.clone(),
            fetchers: Arc::new(fetchers),
            policy,
            rules: self.rules.clone(),
            calendars: self.slas.clone(),
            rule_cache: Default::default(),
            reply_tokens: None,
            notices: self.notices.clone(),
            messenger: None,
            canned: self.canned.clone(),
            contacts: self.contacts.clone(),
            surveys: self.surveys(),
            buttons: None,
            language: "en".to_owned(),
            answer_first,
        }
    }

    /// Tells agents what the event log says needs them, on Telegram and by email as far
    /// as each is set up; none when neither is.
    pub fn notifier(
        &self,
        messenger: Option<Arc<dyn AgentMessenger>>,
        mailer: Option<Arc<dyn AgentMailer>>,
    ) -> Option<Notifier> {
        if messenger.is_none() && mailer.is_none() {
            return None;
        }
        Some(Notifier {
            feed: self.feed.clone(),
            conversations: self.conversations.clone(),
            agents: self.agents.clone(),
            notices: self.notices.clone(),
            messenger,
            mailer,
        })
    }

    pub fn sender(&self, channels: Channels) -> Sender {
        Sender {
            messages: self.messages.clone(),
            conversations: self.conversations.clone(),
            contacts: self.contacts.clone(),
            routing: self.routing.clone(),
            blobs: self.blobs.clone(),
            channels: Arc::new(channels),
            page_notices: None,
            surveys: self.surveys(),
            survey_pages: Default::default(),
            incidents: self.incident_worker(),
        }
    }

    /// Incidents for agents: declaring, linking, updates.
    pub fn incidents(&self) -> Incidents {
        Incidents {
            store: self.incidents.clone(),
            conversations: self.conversations.clone(),
            queue: self.queue.clone(),
        }
    }

    /// Runs the incident jobs on the outbound queue.
    pub fn incident_worker(&self) -> IncidentWorker {
        IncidentWorker {
            store: self.incidents.clone(),
            conversations: self.conversations.clone(),
            messages: self.messages.clone(),
            queue: self.queue.clone(),
        }
    }

    /// The subscriber that links matching messages to active incidents.
    pub fn incident_keeper(&self) -> IncidentKeeper {
        IncidentKeeper {
            store: self.incidents.clone(),
            conversations: self.conversations.clone(),
            messages: self.messages.clone(),
            queue: self.queue.clone(),
        }
    }

    /// What the HTTP routers need. `link_secret` seals the customer links a retried
    /// submission gets back.
    pub fn app_state(
        &self,
        http: HttpConfig,
        link_secret: &[u8],
        replies: &ReplyChannels,
    ) -> AppState {
        let api = self.api_state(http, replies);
        let config = api.config.as_ref().clone();
        AppState {
            web: self.web_state(config.clone(), link_secret, replies),
            channels: ChannelState::new(self.queue.clone(), self.blobs.clone(), config)
                .with_calendars(self.slas.clone()),
            api,
        }
    }

    /// What the web form and the customer pages alone reach (see [`WebState`]).
    pub fn web_state(
        &self,
        http: HttpConfig,
        link_secret: &[u8],
        replies: &ReplyChannels,
    ) -> WebState {
        web_state(
            WebPorts {
                conversations: self.conversations.clone(),
                proofs: self.proofs.clone(),
                send_once: self.send_once.clone(),
                queue: self.queue.clone(),
                surveys: Surveys {
                    key: SurveyKey::reading(self.surveys.clone()),
                    ..self.surveys()
                },
                knowledge: self.knowledge(),
            },
            http,
            link_secret,
            replies,
        )
    }

    /// What the agent API alone reaches (see [`ApiState`]).
    pub fn api_state(&self, http: HttpConfig, replies: &ReplyChannels) -> ApiState {
        let http = with_page_answers(http, replies);
        ApiState {
            inbox: self.inbox(replies),
            directory: self.directory(),
            rights: self.rights(),
            queue: self.queue.clone(),
            changes: ChangesFeed::new(self.feed.clone()),
            webhooks: None,
            service_levels: crate::services::service_levels::ServiceLevels {
                slas: self.slas.clone(),
                teams: self.teams.clone(),
            },
            rules: crate::services::rules::Rules {
                rules: self.rules.clone(),
                calendars: self.slas.clone(),
                teams: self.teams.clone(),
                agents: self.agents.clone(),
                conversations: self.conversations.clone(),
                contacts: self.contacts.clone(),
                canned: self.canned.clone(),
            },
            canned: crate::services::canned::Canned {
                store: self.canned.clone(),
                inbox: self.inbox(replies),
                rules: self.rules.clone(),
            },
            notifications: crate::services::notify::Notifications {
                store: self.notices.clone(),
            },
            reports: crate::services::reports::Reports {
                store: self.reports.clone(),
            },
            surveys: self.surveys(),
            incidents: self.incidents(),
            knowledge: self.knowledge(),
            suggestions: crate::services::suggestions::Suggestions {
                knowledge: self.knowledge(),
                conversations: self.conversations.clone(),
                learned: Arc::default(),
            },
            drafting: crate::services::drafting::Drafting {
                knowledge: self.knowledge(),
                conversations: self.conversations.clone(),
                model: None,
                per_agent: Arc::default(),
            },
            sign_in_limit: Arc::default(),
            config: Arc::new(http),
        }
    }
}

/// The ports the web form's routes call: a function serving only them wires these and
/// nothing else of its store.
pub struct WebPorts {
    pub conversations: Arc<dyn ConversationStore>,
    pub proofs: Arc<dyn ProofStore>,
    pub send_once: Arc<dyn SendOnce>,
    pub queue: Arc<dyn Queue>,
    pub surveys: Surveys,
    /// The help center and the contact page's suggestions.
    pub knowledge: crate::services::knowledge::Knowledge,
}

impl WebPorts {
    /// On one store, with keyed submissions held in it before they are queued, and the
    /// knowledge index read from `blobs`.
    pub fn on<S>(store: Arc<S>, queue: Arc<dyn Queue>, blobs: Arc<dyn BlobStore>) -> Self
    where
        S: ConversationStore
            + ProofStore
            + IdempotencyStore
            + SurveyStore
            + KnowledgeStore
            + 'static,
    {
        Self {
            knowledge: crate::services::knowledge::Knowledge {
                store: store.clone(),
                blobs,
                cache: Arc::default(),
            },
            surveys: Surveys {
                store: store.clone(),
                conversations: store.clone(),
                key: SurveyKey::reading(store.clone()),
            },
            conversations: store.clone(),
            proofs: store.clone(),
            send_once: Arc::new(KeyThenSend {
                keys: store,
                queue: queue.clone(),
            }),
            queue,
        }
    }
}

/// What the web form and the customer pages reach (see [`WebState`]).
pub fn web_state(
    ports: WebPorts,
    http: HttpConfig,
    link_secret: &[u8],
    replies: &ReplyChannels,
) -> WebState {
    let http = with_page_answers(http, replies);
    WebState {
        conversations: ports.conversations.clone(),
        ingest: Ingest::new(ports.queue.clone()),
        send_once: ports.send_once,
        links: CustomerLinks::new(link_secret),
        proofs: Proofs {
            proofs: ports.proofs,
            conversations: ports.conversations,
            queue: ports.queue,
            channels: Arc::new(replies.text.clone()),
        },
        limits: Arc::new(RateLimits::new(&http.limits)),
        surveys: ports.surveys,
        knowledge: ports.knowledge,
        config: Arc::new(http),
    }
}

/// Replies on a customer page also go out on these (see `Sender::page_notices`): the
/// page and the form say so.
fn with_page_answers(mut http: HttpConfig, replies: &ReplyChannels) -> HttpConfig {
    http.page.answers_by_email = replies.text.contains(&Channel::Email);
    http.page.answers_by_sms = replies.text.contains(&Channel::Sms);
    http
}

/// The blob store of a process that keeps no attachments: any use of it is an error.
#[derive(Debug)]
pub struct NoBlobs;

#[async_trait::async_trait]
impl BlobStore for NoBlobs {
    async fn put(&self, _: &str, _: Blob) -> PortResult<()> {
        Err(no_blobs())
    }

    async fn get(&self, _: &str) -> PortResult<Option<Blob>> {
        Err(no_blobs())
    }

    async fn get_versioned(&self, _: &str) -> PortResult<Option<(Blob, BlobVersion)>> {
        Err(no_blobs())
    }

    async fn put_if(&self, _: &str, _: Blob, _: Option<&BlobVersion>) -> PortResult<()> {
        Err(no_blobs())
    }

    async fn delete(&self, _: &str) -> PortResult<()> {
        Err(no_blobs())
    }
}

fn no_blobs() -> PortError {
    PortError::Internal("this process keeps no attachments (it has no blob store)".into())
}

/// The channels agents may reply on, and those of them whose replies may carry files.
#[derive(Clone, Debug, Default)]
pub struct ReplyChannels {
    pub text: HashSet<Channel>,
    pub files: HashSet<Channel>,
}

impl ReplyChannels {
    /// Adds a channel some other process sends on.
    pub fn insert(&mut self, channel: Channel, sends_files: bool) {
        self.text.insert(channel);
        if sends_files {
            self.files.insert(channel);
        }
    }
}

/// The channels `channels` replies on.
pub fn reply_channels(channels: &Channels) -> ReplyChannels {
    let mut replies = ReplyChannels::default();
    for (channel, sender) in channels {
        replies.insert(*channel, sender.sends_files());
    }
    replies
}

/// The reply channels every installation has: the customer page. Channel issues add
/// theirs beside it when configured.
pub fn base_channels() -> Channels {
    HashMap::from([(
        Channel::Web,
        Arc::new(CustomerPageSender) as Arc<dyn ChannelSender>,
    )])
}
