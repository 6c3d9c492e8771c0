use crate::flags::{self, Flags};
use anyhow::{Context, anyhow};
use clap::{Args, Parser, Subcommand};
use shared::channels::telegram::BotApi;
use shared::config::TelegramConfig;
use shared::local::{Local, LocalSettings};
use shared::settings::{ConfigError, Settings, TelegramOptions, schema as s};
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
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
    #[command(flatten)]
    flags: Flags<flags::Telegram>,
}

impl TelegramArgs {
    fn required(&self) -> anyhow::Result<(TelegramConfig, BotApi)> {
        let vars = self.flags.vars();
        let options = TelegramOptions::read(&vars)?;
        let config = shared::settings::local::telegram(&vars, &options)?
            .ok_or_else(|| anyhow!("set SWITCHBOARD_TELEGRAM_BOT_TOKEN (from BotFather)"))?;
        let api = BotApi::new(&config.api_url, config.bot_token.clone()).map_err(|e| anyhow!(e))?;
        Ok((config, api))
    }
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    flags: Flags<flags::Serve>,
}

#[derive(Clone, Copy)]
enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    fn read(value: Option<&str>) -> Result<Self, ConfigError> {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("text") => Ok(Self::Text),
            Some("json") => Ok(Self::Json),
            Some(other) => Err(ConfigError::new(
                &s::LOG_FORMAT,
                format!("`{other}` is not a log format (text, json)"),
            )),
        }
    }
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
        // A log line that cannot be written (stderr piped to a reader that quit) is
        // dropped: the subscriber's report of it would `eprintln!` to the same stderr and
        // panic whichever thread logged, the queue's writer among them.
        .log_internal_errors(false)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let vars = args.flags.vars();
    let settings = Settings::read(&vars)?;
    init_logs(
        &settings.log,
        LogFormat::read(vars.text(&s::LOG_FORMAT).as_deref())?,
    );
    let listen: SocketAddr = vars
        .parsed(&s::LISTEN)?
        .ok_or_else(|| anyhow!("SWITCHBOARD_LISTEN: not set"))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener.local_addr()?;
    let settings = LocalSettings::read(&vars, settings.serving_at(format!("http://{bound}")))?;
    let channels = settings.channels_on().join(", ");
    let db = settings.db_path.clone();
    let local = Local::open(settings)
        .await
        .with_context(|| format!("cannot open {}", db.display()))?;
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight work");
        let _ = stop.send(true);
    });
    println!("listening on http://{bound}");
    std::io::stdout().flush()?;
    tracing::info!(%bound, db = %db.display(), %channels, "switchboard serving");
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
