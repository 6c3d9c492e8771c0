use anyhow::{Context, anyhow};
use chrono::Duration;
use clap::{Args, Parser, Subcommand, ValueEnum};
use shared::config::{HttpConfig, PageConfig};
use shared::local::{Local, LocalSettings};
use shared::model::{DefaultRegion, Role};
use shared::services::route::RoutePolicy;
use std::io::Write;
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
    Serve(ServeArgs),
    /// Manage agents.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Create an agent and print their API key (alone, on the last line).
    Create(CreateAgentArgs),
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
    /// Web-form submissions allowed per client address per minute (0: no limit).
    #[arg(
        long,
        env = "SWITCHBOARD_WEBFORM_RATE_PER_MINUTE",
        default_value_t = 30
    )]
    webform_rate_per_minute: u32,
    /// Largest web-form body in bytes.
    #[arg(long, env = "SWITCHBOARD_WEBFORM_MAX_BYTES", default_value_t = 65536)]
    webform_max_bytes: usize,
    /// Trust X-Forwarded-For for the client address (only behind your own proxy).
    #[arg(long, env = "SWITCHBOARD_TRUST_PROXY", default_value_t = false)]
    trust_proxy: bool,
    /// Title of the hosted pages.
    #[arg(long, env = "SWITCHBOARD_PAGE_TITLE", default_value = "Support")]
    page_title: String,
    /// Accent colour of the hosted pages (a CSS name or #rrggbb).
    #[arg(long, env = "SWITCHBOARD_PAGE_COLOR", default_value = "#2557d6")]
    page_color: String,
    /// Logo shown on the hosted pages (https:// URL).
    #[arg(long, env = "SWITCHBOARD_PAGE_LOGO_URL")]
    page_logo_url: Option<String>,
    /// Language of the hosted pages: en or fa (right to left).
    #[arg(long, env = "SWITCHBOARD_PAGE_LANGUAGE", default_value = "en")]
    page_language: String,
    /// Log filter (e.g. info, warn, shared=debug).
    #[arg(long, env = "SWITCHBOARD_LOG", default_value = "info")]
    log: String,
    /// Log format.
    #[arg(long, env = "SWITCHBOARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Args)]
struct CreateAgentArgs {
    #[command(flatten)]
    db: DbArg,
    #[arg(long)]
    name: String,
    #[arg(long)]
    email: String,
    #[arg(long, value_enum, default_value_t = RoleArg::Agent)]
    role: RoleArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Agent,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Agent {
            command: AgentCommand::Create(args),
        } => create_agent(args).await,
    }
}

fn init_logs(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
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
    .map_err(|e| anyhow!(e))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let bound = listener.local_addr()?;
    let public_url = args.public_url.unwrap_or_else(|| format!("http://{bound}"));
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
            webform_rate_per_minute: args.webform_rate_per_minute,
            trust_proxy: args.trust_proxy,
            page,
        },
        route: RoutePolicy {
            reopen_window: Duration::hours(i64::from(args.reopen_window_hours)),
            default_team: None,
        },
    };
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
    tracing::info!(%bound, db = %args.db.db.display(), "switchboard serving");
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

async fn create_agent(args: CreateAgentArgs) -> anyhow::Result<()> {
    let store = shared::embedded::Embedded::open(&args.db.db)
        .with_context(|| format!("cannot open {}", args.db.db.display()))?;
    let shared_store = std::sync::Arc::new(store);
    let directory = shared::services::directory::Directory {
        contacts: shared_store.clone(),
        conversations: shared_store.clone(),
        agents: shared_store.clone(),
        teams: shared_store,
    };
    let role = match args.role {
        RoleArg::Admin => Role::Admin,
        RoleArg::Agent => Role::Agent,
    };
    let (agent, key) = directory
        .create_agent(&args.name, &args.email, role)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    println!(
        "created {} agent {} <{}> ({})",
        role.as_str(),
        agent.name,
        agent.email,
        agent.id
    );
    println!("API key (shown once; keep it safe):");
    println!("{key}");
    Ok(())
}
