use anyhow::{Context, anyhow};
use chrono::Duration;
use clap::{Args, Parser, Subcommand, ValueEnum};
use shared::channels::telegram::BotApi;
use shared::channels::twilio::voice::VoiceSettings;
use shared::config::{
    HttpConfig, PageConfig, PbxConfig, PublicLimits, TelegramConfig, TelegramWebhook, TwilioConfig,
    TwilioSender, WebhookSettings, check_webhook_secret, trusted_proxy_hops,
};
use shared::local::{Local, LocalSettings};
use shared::model::{DefaultRegion, PhoneNumber};
use shared::server::ServerLimits;
use shared::services::erasure::Retention;
use shared::services::route::RoutePolicy;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::sync::watch;

/// Switchboard: one inbox for every customer channel.
#[derive(Parser)]
#[command(name = "switchboard", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the inbox: every route on one port, the router and sender in-process.
    Serve(Box<ServeArgs>),
    /// Manage agents.
    Agent {
        #[command(subcommand)]
        command: crate::agents::AgentCommand,
    },
    /// Manage the Telegram bot's webhook.
    Telegram {
        #[command(subcommand)]
        command: TelegramCommand,
    },
    /// The email channel.
    Email {
        #[command(subcommand)]
        command: crate::email::EmailCommand,
    },
}

#[derive(Subcommand)]
enum TelegramCommand {
    /// Point the bot's webhook at URL (…/webhooks/telegram), with the configured secret.
    SetWebhook(SetWebhookArgs),
    /// Show the bot's webhook: URL, pending updates, last error.
    Info(TelegramArgs),
}

#[derive(Args)]
struct SetWebhookArgs {
    #[command(flatten)]
    telegram: TelegramArgs,
    /// The public HTTPS URL of POST /webhooks/telegram.
    #[arg(long)]
    url: String,
    /// Drop the updates Telegram holds for the bot instead of delivering them.
    #[arg(long, default_value_t = false)]
    drop_pending_updates: bool,
}

/// The Telegram bot; set the token to turn the channel on.
#[derive(Args)]
struct TelegramArgs {
    /// The bot token from BotFather (prefer the environment variable: flags show in `ps`).
    #[arg(long, env = "SWITCHBOARD_TELEGRAM_BOT_TOKEN", hide_env_values = true)]
    telegram_bot_token: Option<String>,
    /// Telegram sends it back on every webhook call (16–256 of A-Z a-z 0-9 _ -).
    #[arg(
        long,
        env = "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    telegram_webhook_secret: Option<String>,
    /// The Bot API's base URL.
    #[arg(
        long,
        env = "SWITCHBOARD_TELEGRAM_API_URL",
        default_value = "https://api.telegram.org"
    )]
    telegram_api_url: String,
    /// Answer /start with this text.
    #[arg(long, env = "SWITCHBOARD_TELEGRAM_WELCOME_TEXT")]
    telegram_welcome_text: Option<String>,
    /// Take messages from groups and supergroups too (otherwise they are ignored).
    #[arg(long, env = "SWITCHBOARD_TELEGRAM_GROUPS", default_value_t = false)]
    telegram_groups: bool,
}

impl TelegramArgs {
    /// The bot's settings; none without a token.
    fn config(&self) -> anyhow::Result<Option<TelegramConfig>> {
        let Some(token) = self.telegram_bot_token.clone().filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let secret = self
            .telegram_webhook_secret
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                anyhow!("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET is required with a bot token")
            })?;
        check_webhook_secret(&secret)
            .map_err(|e| anyhow!("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET: {e}"))?;
        TelegramConfig::new(
            token,
            secret,
            self.telegram_api_url.clone(),
            self.telegram_welcome_text.clone(),
            self.telegram_groups,
        )
        .map(Some)
        .map_err(|e| anyhow!(e))
    }

    fn required(&self) -> anyhow::Result<(TelegramConfig, BotApi)> {
        let config = self
            .config()?
            .ok_or_else(|| anyhow!("set SWITCHBOARD_TELEGRAM_BOT_TOKEN (from BotFather)"))?;
        let api = BotApi::new(&config.api_url, config.bot_token.clone()).map_err(|e| anyhow!(e))?;
        Ok((config, api))
    }
}

/// The Twilio account; set the account SID and auth token to turn SMS on.
#[derive(Args)]
struct TwilioArgs {
    /// The account SID (AC…).
    #[arg(long, env = "SWITCHBOARD_TWILIO_ACCOUNT_SID")]
    twilio_account_sid: Option<String>,
    /// The auth token: signs Twilio's webhook calls and authenticates ours.
    #[arg(long, env = "SWITCHBOARD_TWILIO_AUTH_TOKEN", hide_env_values = true)]
    twilio_auth_token: Option<String>,
    /// The REST API's base URL.
    #[arg(
        long,
        env = "SWITCHBOARD_TWILIO_API_URL",
        default_value = "https://api.twilio.com"
    )]
    twilio_api_url: String,
    /// The public base URL Twilio calls, exactly as configured in the console (signatures
    /// cover it) [default: the public URL].
    #[arg(long, env = "SWITCHBOARD_TWILIO_PUBLIC_URL")]
    twilio_public_url: Option<String>,
    /// The number replies by SMS come from (E.164).
    #[arg(long, env = "SWITCHBOARD_TWILIO_FROM")]
    twilio_from: Option<String>,
    /// Or the Messaging Service they go through (MG…).
    #[arg(long, env = "SWITCHBOARD_TWILIO_MESSAGING_SERVICE_SID")]
    twilio_messaging_service_sid: Option<String>,
    /// What callers hear first.
    #[arg(long, env = "SWITCHBOARD_TWILIO_VOICE_GREETING")]
    twilio_voice_greeting: Option<String>,
    /// The greeting's language (a Twilio <Say> language: en-US, de-DE, …).
    #[arg(
        long,
        env = "SWITCHBOARD_TWILIO_VOICE_LANGUAGE",
        default_value = "en-US"
    )]
    twilio_voice_language: String,
    /// The number calls are put through to within business hours; none: voicemail only.
    #[arg(long, env = "SWITCHBOARD_TWILIO_VOICE_DIAL")]
    twilio_voice_dial: Option<String>,
    /// Business hours, e.g. `sat-wed 08:30-17:00 Asia/Tehran` (an IANA zone or a UTC offset) [default: always].
    #[arg(long, env = "SWITCHBOARD_TWILIO_VOICE_HOURS")]
    twilio_voice_hours: Option<String>,
}

impl TwilioArgs {
    /// The account's settings; none without an account SID.
    fn config(
        &self,
        public_url: &str,
        region: DefaultRegion,
    ) -> anyhow::Result<Option<TwilioConfig>> {
        let Some(sid) = self.twilio_account_sid.clone().filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let token = self
            .twilio_auth_token
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                anyhow!("SWITCHBOARD_TWILIO_AUTH_TOKEN is required with an account SID")
            })?;
        let from = self.twilio_from.as_deref().filter(|f| !f.is_empty());
        let service = self
            .twilio_messaging_service_sid
            .clone()
            .filter(|s| !s.is_empty());
        let sender = match (from, service) {
            (Some(_), Some(_)) => {
                return Err(anyhow!(
                    "set SWITCHBOARD_TWILIO_FROM or SWITCHBOARD_TWILIO_MESSAGING_SERVICE_SID, not both"
                ));
            }
            (Some(from), None) => Some(TwilioSender::From(
                PhoneNumber::parse(from, region)
                    .map_err(|e| anyhow!("SWITCHBOARD_TWILIO_FROM: {e}"))?,
            )),
            (None, Some(service)) => Some(TwilioSender::MessagingService(service)),
            (None, None) => None,
        };
        let public = self
            .twilio_public_url
            .clone()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| public_url.to_owned());
        let public = Some(public);
        let mut config = TwilioConfig::new(sid, token, self.twilio_api_url.clone(), public, sender)
            .map_err(|e| anyhow!(e))?;
        config.voice = VoiceSettings::configured(
            self.twilio_voice_greeting.as_deref(),
            Some(&self.twilio_voice_language),
            self.twilio_voice_dial.as_deref(),
            self.twilio_voice_hours.as_deref(),
            region,
        )
        .map_err(|e| anyhow!("SWITCHBOARD_TWILIO_VOICE_*: {e}"))?;
        Ok(Some(config))
    }
}

/// The PBX / CTI hook; set the secret to turn it on.
#[derive(Args)]
struct PbxArgs {
    /// The shared secret the PBX signs its calls with (at least 16 characters).
    #[arg(long, env = "SWITCHBOARD_PBX_SECRET", hide_env_values = true)]
    pbx_secret: Option<String>,
    /// How far a call's X-Switchboard-Timestamp may be from our clock, in seconds.
    #[arg(long, env = "SWITCHBOARD_PBX_WINDOW_SECS", default_value_t = 300)]
    pbx_window_secs: i64,
}

impl PbxArgs {
    fn config(&self) -> anyhow::Result<Option<PbxConfig>> {
        let Some(secret) = self.pbx_secret.clone().filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        PbxConfig::new(secret, self.pbx_window_secs)
            .map(Some)
            .map_err(|e| anyhow!(e))
    }
}

#[derive(Args)]
struct DbArg {
    /// The SQLite file (created if missing).
    #[arg(long, env = "SWITCHBOARD_DB", default_value = "switchboard.db")]
    db: PathBuf,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArg,
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where customers reach this server; customer links start with it [default: http://<listen>].
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
    public_url: Option<String>,
    /// Folder for attachments [default: <db>.blobs next to the database].
    #[arg(long, env = "SWITCHBOARD_BLOB_DIR")]
    blob_dir: Option<PathBuf>,
    /// Country assumed for phone numbers written without a country code (ISO 3166, e.g. IR, US).
    #[arg(long, env = "SWITCHBOARD_DEFAULT_REGION", default_value = "US")]
    default_region: String,
    /// A resolved conversation reopens when the customer writes within this many hours.
    #[arg(long, env = "SWITCHBOARD_REOPEN_WINDOW_HOURS", default_value_t = 168)]
    reopen_window_hours: u32,
    /// Erase resolved conversations this many days after their resolution (and a
    /// contact left with none) [default: keep them]
    #[arg(long, env = "SWITCHBOARD_RETENTION_DAYS")]
    retention_days: Option<String>,
    /// Hosts outbound webhooks may reach although they are, or resolve to, private or
    /// internal addresses (comma-separated).
    #[arg(long, env = "SWITCHBOARD_WEBHOOK_ALLOW_HOSTS")]
    webhook_allow_hosts: Option<String>,
    /// Seconds between the tries of a webhook delivery that failed (comma-separated)
    /// [default: 5,300,1800,7200,18000,36000,36000: some 27 hours].
    #[arg(long, env = "SWITCHBOARD_WEBHOOK_RETRY_SECONDS")]
    webhook_retry_seconds: Option<String>,
    /// Web-form submissions and customer-page answers allowed per client address per
    /// minute, one budget for both (0: no limit).
    #[arg(
        long,
        env = "SWITCHBOARD_WEBFORM_RATE_PER_MINUTE",
        default_value_t = PublicLimits::DEFAULT_PER_ADDRESS_PER_MINUTE
    )]
    webform_rate_per_minute: u32,
    /// Answers allowed on one customer page per minute, from all addresses together (0: no limit).
    #[arg(
        long,
        env = "SWITCHBOARD_LINK_RATE_PER_MINUTE",
        default_value_t = PublicLimits::DEFAULT_PER_LINK_PER_MINUTE
    )]
    link_rate_per_minute: u32,
    /// Largest web-form body in bytes.
    #[arg(long, env = "SWITCHBOARD_WEBFORM_MAX_BYTES", default_value_t = 65536)]
    webform_max_bytes: usize,
    /// The same as --trusted-proxy-hops 1 (one proxy of yours in front of the server).
    #[arg(long, env = "SWITCHBOARD_TRUST_PROXY", default_value_t = false)]
    trust_proxy: bool,
    /// Proxies of yours in front of the server, each appending to X-Forwarded-For: the
    /// client's address is the entry this many places from the right [default: 0, the
    /// connection's peer].
    #[arg(long, env = "SWITCHBOARD_TRUSTED_PROXY_HOPS")]
    trusted_proxy_hops: Option<u8>,
    /// Seconds a client may take to send a request's headers (also how long an idle
    /// connection stays open).
    #[arg(
        long,
        env = "SWITCHBOARD_HEADER_TIMEOUT_SECS",
        default_value_t = ServerLimits::DEFAULT_HEADER_TIMEOUT_SECS
    )]
    header_timeout_secs: u64,
    /// Seconds one request may take, its body and the answer included (408 after).
    #[arg(
        long,
        env = "SWITCHBOARD_REQUEST_TIMEOUT_SECS",
        default_value_t = ServerLimits::DEFAULT_REQUEST_TIMEOUT_SECS
    )]
    request_timeout_secs: u64,
    /// Most connections open at once; more wait to be accepted until one closes.
    #[arg(
        long,
        env = "SWITCHBOARD_MAX_CONNECTIONS",
        default_value_t = ServerLimits::DEFAULT_MAX_CONNECTIONS
    )]
    max_connections: usize,
    /// Title of the hosted pages [default: Support, in the page language].
    #[arg(long, env = "SWITCHBOARD_PAGE_TITLE")]
    page_title: Option<String>,
    /// Accent colour of the hosted pages (a CSS name or #rrggbb).
    #[arg(long, env = "SWITCHBOARD_PAGE_COLOR", default_value = "#2557d6")]
    page_color: String,
    /// Logo shown on the hosted pages (https:// URL).
    #[arg(long, env = "SWITCHBOARD_PAGE_LOGO_URL")]
    page_logo_url: Option<String>,
    /// Language of the hosted pages: en or fa (right to left).
    #[arg(long, env = "SWITCHBOARD_PAGE_LANGUAGE", default_value = "en")]
    page_language: String,
    /// The time zone the hosted pages tell times in (an IANA name, e.g. Asia/Tehran).
    #[arg(long, env = "SWITCHBOARD_TIME_ZONE", default_value = "UTC")]
    time_zone: String,
    /// Log filter (e.g. info, warn, shared=debug).
    #[arg(long, env = "SWITCHBOARD_LOG", default_value = "info")]
    log: String,
    /// Log format.
    #[arg(long, env = "SWITCHBOARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(flatten)]
    telegram: TelegramArgs,
    #[command(flatten)]
    email: crate::email::EmailArgs,
    #[command(flatten)]
    twilio: TwilioArgs,
    #[command(flatten)]
    pbx: PbxArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Email { command } => crate::email::run(command).await,
        Command::Agent { command } => crate::agents::run(command).await,
        Command::Telegram {
            command: TelegramCommand::SetWebhook(args),
        } => set_webhook(args).await,
        Command::Telegram {
            command: TelegramCommand::Info(args),
        } => webhook_info(args).await,
    }
}

async fn set_webhook(args: SetWebhookArgs) -> anyhow::Result<()> {
    let url = url::Url::parse(&args.url).with_context(|| format!("`{}` is not a URL", args.url))?;
    if url.scheme() != "https" {
        eprintln!("warning: Telegram only delivers to https:// webhooks");
    }
    let (config, api) = args.telegram.required()?;
    api.set_webhook(
        url.as_str(),
        &config.webhook_secret,
        args.drop_pending_updates,
    )
    .await
    .map_err(|e| anyhow!("setWebhook failed: {e}"))?;
    println!(
        "webhook set to {url} (updates: {})",
        shared::channels::telegram::client::ALLOWED_UPDATES.join(", ")
    );
    Ok(())
}

async fn webhook_info(args: TelegramArgs) -> anyhow::Result<()> {
    let (_, api) = args.required()?;
    let info = api
        .webhook_info()
        .await
        .map_err(|e| anyhow!("getWebhookInfo failed: {e}"))?;
    let url = if info.url.is_empty() {
        "(none)"
    } else {
        &info.url
    };
    println!("url: {url}");
    println!("pending updates: {}", info.pending_update_count);
    match (&info.last_error_message, info.last_error_date) {
        (Some(message), date) => {
            let when = date
                .and_then(|d| chrono::DateTime::from_timestamp(d, 0))
                .map(|d| d.to_rfc3339())
                .unwrap_or_else(|| "unknown time".into());
            println!("last error: {message} (at {when})");
        }
        (None, _) => println!("last error: none"),
    }
    if let Some(updates) = &info.allowed_updates {
        println!("allowed updates: {}", updates.join(", "));
    }
    if let Some(max) = info.max_connections {
        println!("max connections: {max}");
    }
    Ok(())
}

fn init_logs(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a person at a terminal, never into a file or a pipe.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logs(&args.log, args.log_format);
    let default_region = DefaultRegion::parse(&args.default_region).map_err(|e| anyhow!(e))?;
    let page = PageConfig::new(
        args.page_title,
        args.page_color,
        args.page_logo_url,
        args.page_language,
    )
    .and_then(|page| page.in_time_zone(&args.time_zone))
    .map_err(|e| anyhow!(e))?;
    let limits = PublicLimits {
        per_address_per_minute: args.webform_rate_per_minute,
        per_link_per_minute: args.link_rate_per_minute,
        trusted_proxy_hops: trusted_proxy_hops(args.trust_proxy, args.trusted_proxy_hops)
            .map_err(|e| anyhow!(e))?,
    };
    let server = ServerLimits::new(
        args.header_timeout_secs,
        args.request_timeout_secs,
        args.max_connections,
    )
    .map_err(|e| anyhow!(e))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let bound = listener.local_addr()?;
    let public_url = args.public_url.unwrap_or_else(|| format!("http://{bound}"));
    let telegram = args.telegram.config()?;
    let twilio = args.twilio.config(&public_url, default_region)?;
    let blob_dir = args
        .blob_dir
        .unwrap_or_else(|| args.db.db.with_extension("blobs"));
    let settings = LocalSettings {
        db_path: args.db.db.clone(),
        blob_dir,
        http: HttpConfig {
            public_url: Some(public_url),
            default_region,
            webform_max_bytes: args.webform_max_bytes,
            limits,
            page,
            telegram: telegram.as_ref().map(TelegramWebhook::from),
            email: args.email.webhook()?,
            twilio: twilio.clone(),
            pbx: args.pbx.config()?,
        },
        route: RoutePolicy {
            reopen_window: Duration::hours(i64::from(args.reopen_window_hours)),
            default_team: None,
        },
        telegram,
        twilio,
        smtp: args.email.smtp()?,
        server,
        retention: Retention::parse(args.retention_days.as_deref())
            .map_err(|e| anyhow!("SWITCHBOARD_RETENTION_DAYS: {e}"))?,
        webhooks: WebhookSettings::parse(
            args.webhook_allow_hosts.as_deref(),
            args.webhook_retry_seconds.as_deref(),
        )
        .map_err(|(name, e)| anyhow!("{name}: {e}"))?,
    };
    let channels = settings.channels_on().join(", ");
    let local = Local::open(settings)
        .await
        .with_context(|| format!("cannot open {}", args.db.db.display()))?;
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight work");
        let _ = stop.send(true);
    });
    println!("listening on http://{bound}");
    std::io::stdout().flush()?;
    tracing::info!(%bound, db = %args.db.db.display(), %channels, "switchboard serving");
    local.run(listener, stopped).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
