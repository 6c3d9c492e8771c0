//! Switchboard on one machine: the embedded backend, every router on one port, and the
//! router and sender loops in the same process.

use crate::backend::{Backend, base_channels, reply_channels};
use crate::channels::email::EmailFiles;
use crate::channels::email::smtp::SmtpSender;
use crate::channels::telegram::{BotApi, TelegramSender};
use crate::channels::twilio::{MediaFetcher, SmsSender, TwilioApi};
use crate::config::{HttpConfig, SmtpConfig, TelegramConfig, TwilioConfig, WebhookSettings};
use crate::embedded::{BlobFolder, Embedded};
use crate::http::{AppState, app};
use crate::model::Channel;
use crate::ports::{
    AgentMailer, AgentMessenger, ChannelSender, EventFeed, FileFetcher, SettingStore, WebhookStore,
};
use crate::ports::{PortResult, QueueName};
use crate::server::{ServerLimits, serve};
use crate::services::erasure::Retention;
use crate::services::notify::Notifier;
use crate::services::page_link::{PageLinks, PageNotices};
use crate::services::rights::Rights;
use crate::services::route::RoutePolicy;
use crate::services::router::{Fetchers, InboundRouter};
use crate::services::send::Sender;
use crate::services::subscriber::FeedConsumer;
use crate::services::webhooks::deliver::WebhookDeliverer;
use crate::services::webhooks::fanout::WebhookFanout;
use crate::services::webhooks::post::WebhookClient;
use crate::services::webhooks::target::TargetPolicy;
use crate::services::worker::Worker;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How often the in-process sweeper runs: snoozes that end, SLA breaches, the log's age.
/// Each of its reads goes through an index, so running often costs little.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
use tokio::net::TcpListener;
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct LocalSettings {
    pub db_path: PathBuf,
    pub blob_dir: PathBuf,
    pub http: HttpConfig,
    pub route: RoutePolicy,
    pub telegram: Option<TelegramConfig>,
    pub twilio: Option<TwilioConfig>,
    /// Replies by email, when a relay is configured.
    pub smtp: Option<SmtpConfig>,
    /// How the listener guards its connections.
    pub server: ServerLimits,
    /// How long resolved conversations are kept; none: for ever.
    pub retention: Option<Retention>,
    /// How long an available agent may be idle before they are set away.
    pub away_after_idle: Option<chrono::Duration>,
    pub webhooks: WebhookSettings,
    /// How often agents' notifications go out (one message per agent at most).
    pub notify_every: Duration,
    /// The language model agents may ask for drafts, and its key.
    pub llm: Option<(
        crate::services::drafting::ModelOptions,
        Option<crate::config::Secret>,
    )>,
}

impl LocalSettings {
    /// The channels this server takes messages on and answers on, for its start-up line:
    /// `web` always, `email` (answered by SMTP or not), `telegram`, `sms` and `voice`,
    /// `pbx`.
    pub fn channels_on(&self) -> Vec<&'static str> {
        let mut on = vec!["web"];
        if self.http.email.is_some() {
            on.push(if self.smtp.is_some() {
                "email"
            } else {
                "email (no replies: SMTP not set)"
            });
        }
        if self.telegram.is_some() {
            on.push("telegram");
        }
        if self.twilio.is_some() {
            on.extend(["sms", "voice"]);
        }
        if self.http.pbx.is_some() {
            on.push("pbx");
        }
        on
    }
}

/// The assembled local app.
pub struct Local {
    pub store: Embedded,
    pub state: AppState,
    pub blobs: BlobFolder,
    router: InboundRouter,
    sender: Sender,
    server: ServerLimits,
    rights: Rights,
    retention: Option<Retention>,
    away_after_idle: Option<chrono::Duration>,
    /// What records the deliveries of each change, and what tries them.
    webhooks: (WebhookFanout, WebhookDeliverer),
    /// Tells agents on Telegram what needs them, when the bot is set up; and how often.
    notifier: Option<(Notifier, Duration)>,
    /// Asks customers for a rating when their conversation is resolved.
    survey_keeper: crate::services::surveys::SurveyKeeper,
    incident_keeper: crate::services::incidents::IncidentKeeper,
}

impl Local {
    pub async fn open(settings: LocalSettings) -> PortResult<Self> {
        let store = Embedded::open(&settings.db_path)?;
        let recovered = store.recover_in_flight().await?;
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "messages in flight when the last run stopped are queued again"
            );
        }
        let secret = store
            .setting_or_init(
                "customer_link_secret",
                crate::services::directory::new_secret("").0,
            )
            .await?;
        let blobs: Arc<dyn crate::ports::BlobStore> =
            Arc::new(BlobFolder::new(settings.blob_dir.clone()));
        let backend = Backend::new(Arc::new(store.clone()), Arc::new(store.clone()))
            .with_send_once(Arc::new(store.clone()))
            .with_blobs(blobs.clone());
        let mut channels = base_channels();
        let mut fetchers = Fetchers::new();
        let mut messenger: Option<Arc<dyn AgentMessenger>> = None;
        let mut buttons: Option<Arc<dyn crate::ports::ButtonAnswerer>> = None;
        // Email attachments are read back from the raw message the webhook kept.
        fetchers.insert(Channel::Email, Arc::new(EmailFiles::new(blobs)));
        if let Some(telegram) = &settings.telegram {
            let api = BotApi::new(&telegram.api_url, telegram.bot_token.clone())
                .map_err(crate::ports::PortError::Internal)?;
            let bot = Arc::new(TelegramSender::new(api));
            channels.insert(Channel::Telegram, bot.clone() as Arc<dyn ChannelSender>);
            fetchers.insert(Channel::Telegram, bot.clone() as Arc<dyn FileFetcher>);
            buttons = Some(bot.clone() as Arc<dyn crate::ports::ButtonAnswerer>);
            messenger = Some(bot as Arc<dyn AgentMessenger>);
        }
        if let Some(twilio) = &settings.twilio {
            let api = TwilioApi::new(
                &twilio.api_url,
                &twilio.account_sid,
                twilio.auth_token.clone(),
            )
            .map_err(crate::ports::PortError::Internal)?;
            let media = Arc::new(MediaFetcher(api)) as Arc<dyn FileFetcher>;
            fetchers.insert(Channel::Sms, media.clone());
            fetchers.insert(Channel::Voice, media);
            if let Some(sms) = SmsSender::new(twilio).map_err(crate::ports::PortError::Internal)? {
                channels.insert(Channel::Sms, Arc::new(sms) as Arc<dyn ChannelSender>);
            }
        }
        let reply_tokens = backend.reply_tokens().await?;
        let mut mailer: Option<Arc<dyn AgentMailer>> = None;
        if let Some(smtp) = &settings.smtp {
            let sender = Arc::new(
                SmtpSender::new(&smtp.url, smtp.outbound.clone(), reply_tokens.clone())
                    .map_err(crate::ports::PortError::Internal)?,
            );
            channels.insert(Channel::Email, sender.clone() as Arc<dyn ChannelSender>);
            mailer = Some(sender as Arc<dyn AgentMailer>);
        }
        let mut state =
            backend.app_state(settings.http, secret.as_bytes(), &reply_channels(&channels));
        // Plain HTTP to this machine is fine here: it is one machine.
        let targets = TargetPolicy {
            local: true,
            allowed_hosts: settings.webhooks.allowed_hosts.clone(),
        };
        let client = Arc::new(
            WebhookClient::new(targets.clone()).map_err(crate::ports::PortError::Internal)?,
        );
        state.api.webhooks = Some(backend.webhooks(Arc::new(targets)));
        if let Some((options, key)) = &settings.llm {
            let model = crate::services::drafting::LanguageModel::new(options, key.clone())
                .map_err(crate::ports::PortError::Internal)?;
            state.api.drafting.model = Some(Arc::new(model));
        }
        let webhooks = (
            backend.webhook_fanout(),
            backend.webhook_deliverer(client, settings.webhooks.schedule.clone()),
        );
        let mut router = backend.router(settings.route, fetchers).speaking(
            &state.api.config.page.language,
            state.api.config.public_url.as_deref(),
        );
        router.reply_tokens = Some(reply_tokens);
        router.messenger = messenger.clone();
        router.buttons = buttons;
        let notifier = backend
            .notifier(messenger, mailer)
            .map(|notifier| (notifier, settings.notify_every));
        let sender = backend.sender(channels);
        // The pages' base is the public URL, else the address `run` serves on.
        let page_notices = PageNotices {
            links: PageLinks::new(secret.as_bytes()),
            base_url: state.api.config.public_url.clone().unwrap_or_default(),
            language: state.api.config.page.language.clone(),
        };
        let survey_pages = crate::services::surveys::SurveyPages {
            base_url: page_notices.base_url.clone(),
            language: page_notices.language.clone(),
        };
        let sender = sender
            .with_page_notices(Some(page_notices))
            .with_survey_pages(survey_pages);
        Ok(Self {
            store,
            state,
            blobs: BlobFolder::new(settings.blob_dir),
            router,
            sender,
            server: settings.server,
            rights: backend.rights(),
            retention: settings.retention,
            away_after_idle: settings.away_after_idle,
            webhooks,
            notifier,
            survey_keeper: backend.survey_keeper(),
            incident_keeper: backend.incident_keeper(),
        })
    }

    /// Serves HTTP on `listener` and runs the loops until `shutdown` turns true; then
    /// stops taking requests, finishes what is in flight, and returns.
    pub async fn run(
        self,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        let store: Arc<Embedded> = Arc::new(self.store.clone());
        let router_worker = Worker {
            queue: store.clone(),
            name: QueueName::Inbound,
            // Measured: more in hand only lengthens each commit's wait (scripts/bench).
            batch: 128,
            in_flight: 256,
            in_group_order: true,
            visibility: Duration::from_secs(60),
            idle_wait: Duration::from_millis(20),
        };
        let router = Arc::new(self.router);
        let router_task = tokio::spawn(router_worker.run(shutdown.clone(), move |d| {
            let router = router.clone();
            async move { router.handle(d).await }
        }));
        let sender_worker = Worker {
            queue: store,
            name: QueueName::Outbound,
            batch: 32,
            in_flight: 32,
            in_group_order: false,
            visibility: Duration::from_secs(120),
            idle_wait: Duration::from_millis(50),
        };
        let mut sender = self.sender;
        if let Some(notices) = sender.page_notices.as_mut()
            && notices.base_url.is_empty()
        {
            notices.base_url = format!("http://{}", listener.local_addr()?);
        }
        if sender.survey_pages.base_url.is_empty() {
            sender.survey_pages.base_url = format!("http://{}", listener.local_addr()?);
        }
        let sender = Arc::new(sender);
        let sender_task = tokio::spawn(sender_worker.run_in_batches(shutdown.clone(), move |d| {
            let sender = sender.clone();
            async move { sender.handle(d).await }
        }));

        let (fanout, deliverer) = self.webhooks;
        let fanout_task = tokio::spawn(
            FeedConsumer {
                feed: Arc::new(self.store.clone()),
                subscriber: Arc::new(fanout),
            }
            .run(shutdown.clone()),
        );
        // Each delivery on its own: a slow endpoint holds back only its own deliveries
        // (the queue hands out a group's next once the one before it is settled).
        let webhook_worker = Worker {
            queue: Arc::new(self.store.clone()),
            name: QueueName::Webhooks,
            batch: 32,
            in_flight: 32,
            in_group_order: false,
            visibility: Duration::from_secs(60),
            idle_wait: Duration::from_millis(50),
        };
        let deliverer = Arc::new(deliverer);
        let webhook_task = tokio::spawn(webhook_worker.run(shutdown.clone(), move |d| {
            let deliverer = deliverer.clone();
            async move { deliverer.handle(d).await }
        }));

        let sla_store = Arc::new(self.store.clone());
        let sla_task = tokio::spawn(
            FeedConsumer {
                feed: sla_store.clone(),
                subscriber: Arc::new(crate::services::sla::SlaKeeper {
                    conversations: sla_store.clone(),
                    slas: sla_store,
                }),
            }
            .run(shutdown.clone()),
        );

        let notify_task = self.notifier.map(|(notifier, every)| {
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                // The first pass marks where notifying starts: what happens from now.
                while !*stop.borrow() {
                    if let Err(e) = notifier.pass(crate::services::notify::PASS_BATCHES).await {
                        tracing::error!(error = %e, "notifying agents failed");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = stop.changed() => {}
                    }
                }
            })
        });

        let rules_store = Arc::new(self.store.clone());
        let rules_task = tokio::spawn(
            FeedConsumer {
                feed: rules_store.clone(),
                subscriber: Arc::new(crate::services::rule_runs::RuleRunner {
                    conversations: rules_store.clone(),
                    contacts: rules_store.clone(),
                    rules: rules_store.clone(),
                    calendars: rules_store,
                }),
            }
            .run(shutdown.clone()),
        );

        let reports_store = Arc::new(self.store.clone());
        let reports_task = tokio::spawn(
            FeedConsumer {
                feed: reports_store.clone(),
                subscriber: Arc::new(crate::services::reports::ReportKeeper {
                    conversations: reports_store.clone(),
                    reports: reports_store.clone(),
                    slas: reports_store,
                }),
            }
            .run(shutdown.clone()),
        );

        let surveys_task = tokio::spawn(
            FeedConsumer {
                feed: Arc::new(self.store.clone()),
                subscriber: Arc::new(self.survey_keeper),
            }
            .run(shutdown.clone()),
        );

        let incidents_task = tokio::spawn(
            FeedConsumer {
                feed: Arc::new(self.store.clone()),
                subscriber: Arc::new(self.incident_keeper),
            }
            .run(shutdown.clone()),
        );

        let sweep_store = self.store.clone();
        let (rights, retention, idle) = (self.rights, self.retention, self.away_after_idle);
        let mut sweep_stop = shutdown.clone();
        let sweeper_task = tokio::spawn(async move {
            while !*sweep_stop.borrow() {
                if let Err(e) =
                    crate::services::sweep::wake_snoozed(&sweep_store, chrono::Utc::now()).await
                {
                    tracing::error!(error = %e, "waking snoozed conversations failed");
                }
                if let Err(e) = crate::services::sla::announce_breaches(
                    &sweep_store,
                    &sweep_store,
                    &sweep_store,
                    &sweep_store,
                    chrono::Utc::now(),
                )
                .await
                {
                    tracing::error!(error = %e, "telling SLA breaches failed");
                }
                if let Err(e) = crate::services::rule_runs::run_timers(
                    (&sweep_store, &sweep_store),
                    &sweep_store,
                    &sweep_store,
                    chrono::Utc::now(),
                )
                .await
                {
                    tracing::error!(error = %e, "running the idle rules failed");
                }
                let log_kept_from = chrono::Utc::now() - crate::ports::LOG_RETENTION;
                if let Err(e) = sweep_store.forget_before(log_kept_from).await {
                    tracing::error!(error = %e, "forgetting old event-log entries failed");
                }
                if let Err(e) = sweep_store.forget_deliveries_before(log_kept_from).await {
                    tracing::error!(error = %e, "forgetting old webhook deliveries failed");
                }
                if let Some(idle) = idle
                    && let Err(e) = crate::services::sweep::away_when_idle(
                        &sweep_store,
                        idle,
                        chrono::Utc::now(),
                    )
                    .await
                {
                    tracing::error!(error = %e, "setting idle agents away failed");
                }
                if let Some(retention) = retention
                    && let Err(e) = rights.sweep(retention, chrono::Utc::now()).await
                {
                    tracing::error!(error = %e, "erasing conversations past their retention failed");
                }
                tokio::select! {
                    _ = tokio::time::sleep(SWEEP_EVERY) => {}
                    _ = sweep_stop.changed() => {}
                }
            }
        });

        let graceful = async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        };
        let served = serve(listener, app(self.state), self.server, graceful).await;
        let _ = router_task.await;
        let _ = sender_task.await;
        let _ = sweeper_task.await;
        let _ = fanout_task.await;
        let _ = sla_task.await;
        let _ = rules_task.await;
        let _ = reports_task.await;
        let _ = surveys_task.await;
        let _ = incidents_task.await;
        let _ = webhook_task.await;
        if let Some(task) = notify_task {
            let _ = task.await;
        }
        served
    }
}
