//! The email channel's settings and `switchboard email import`.

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use shared::channels::email::mbox::split_messages;
use shared::config::{EmailWebhook, SmtpConfig};
use shared::embedded::{BlobFolder, Embedded};
use shared::ports::MessageStore;
use shared::services::email::{EmailIntake, Intake};
use shared::services::ingest::Ingest;
use std::path::PathBuf;
use std::sync::Arc;

/// The email channel; set the webhook secret to turn `POST /webhooks/email` on.
#[derive(Args)]
pub struct EmailArgs {
    /// The relay sends it in X-Switchboard-Email-Secret (at least 16 characters).
    #[arg(long, env = "SWITCHBOARD_EMAIL_WEBHOOK_SECRET", hide_env_values = true)]
    email_webhook_secret: Option<String>,
    /// Largest raw email taken, in bytes.
    #[arg(long, env = "SWITCHBOARD_EMAIL_MAX_BYTES", default_value_t = shared::config::DEFAULT_EMAIL_MAX_BYTES)]
    email_max_bytes: usize,
    /// Our own mail domains, comma-separated: mail from them is never answered.
    #[arg(long, env = "SWITCHBOARD_EMAIL_DOMAINS", value_delimiter = ',')]
    email_domains: Vec<String>,
    /// The relay checked SPF/DKIM: a sender's From address is proven theirs.
    #[arg(long, env = "SWITCHBOARD_EMAIL_FROM_PROVEN", default_value_t = false)]
    email_from_proven: bool,
    /// Send replies by email through this relay: smtp://host:port (plain),
    /// smtp://host:port?tls=required (STARTTLS), smtps://host:port (TLS).
    #[arg(long, env = "SWITCHBOARD_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// The address replies come from (needed with --smtp-url).
    #[arg(long, env = "SWITCHBOARD_EMAIL_FROM")]
    email_from: Option<String>,
    /// The display name replies come from.
    #[arg(long, env = "SWITCHBOARD_EMAIL_FROM_NAME")]
    email_from_name: Option<String>,
    /// Where customers answer, as support@domain: replies carry support+<token>@domain
    /// as Reply-To [default: the From address].
    #[arg(long, env = "SWITCHBOARD_EMAIL_REPLY_ADDRESS")]
    email_reply_address: Option<String>,
}

impl EmailArgs {
    /// The SMTP relay's settings; none without a URL.
    pub fn smtp(&self) -> anyhow::Result<Option<SmtpConfig>> {
        let Some(url) = self.smtp_url.clone().filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let from = self
            .email_from
            .as_deref()
            .ok_or_else(|| anyhow!("--smtp-url needs --email-from (SWITCHBOARD_EMAIL_FROM)"))?;
        SmtpConfig::new(
            url,
            from,
            self.email_from_name.clone(),
            self.email_reply_address.as_deref(),
        )
        .map(Some)
        .map_err(|e| anyhow!(e))
    }

    /// The webhook's settings; none without a secret.
    pub fn webhook(&self) -> anyhow::Result<Option<EmailWebhook>> {
        let Some(secret) = self.email_webhook_secret.clone().filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        EmailWebhook::new(
            secret,
            self.email_max_bytes,
            self.email_domains.clone(),
            self.email_from_proven,
        )
        .map(Some)
        .map_err(|e| anyhow!(e))
    }
}

#[derive(Subcommand)]
pub enum EmailCommand {
    /// Queue the emails of FILE (one .eml, or an mbox) as if they had been received;
    /// `serve` routes them. Importing a file twice stores nothing twice.
    Import(ImportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// The SQLite file (created if missing).
    #[arg(long, env = "SWITCHBOARD_DB", default_value = "switchboard.db")]
    db: PathBuf,
    /// Folder for attachments [default: <db>.blobs next to the database].
    #[arg(long, env = "SWITCHBOARD_BLOB_DIR")]
    blob_dir: Option<PathBuf>,
    #[arg(long, env = "SWITCHBOARD_EMAIL_DOMAINS", value_delimiter = ',')]
    email_domains: Vec<String>,
    #[arg(long, env = "SWITCHBOARD_EMAIL_FROM_PROVEN", default_value_t = false)]
    email_from_proven: bool,
    /// An .eml or mbox file.
    file: PathBuf,
}

pub async fn run(command: EmailCommand) -> anyhow::Result<()> {
    match command {
        EmailCommand::Import(args) => import(args).await,
    }
}

async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let file = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let store =
        Embedded::open(&args.db).with_context(|| format!("cannot open {}", args.db.display()))?;
    let blob_dir = args
        .blob_dir
        .unwrap_or_else(|| args.db.with_extension("blobs"));
    // Any size: the file is the operator's own.
    let settings = EmailWebhook::new(
        "-".repeat(16),
        usize::MAX,
        args.email_domains,
        args.email_from_proven,
    )
    .map_err(|e| anyhow!(e))?;
    let intake = EmailIntake {
        ingest: Ingest::new(Arc::new(store.clone())),
        blobs: Arc::new(BlobFolder::new(blob_dir)),
        parse: settings.parse,
        inbound: settings.inbound,
    };
    let (mut queued, mut known, mut skipped, mut failed) = (0, 0, 0, 0);
    for (index, raw) in split_messages(&file).iter().enumerate() {
        match intake.accept(raw).await {
            // The router drops a repeat of a stored message; say so rather than count it.
            Ok(Intake::Queued(source)) if store.message_by_source_id(&source).await?.is_some() => {
                known += 1;
                println!("message {index}: already imported ({})", source.as_str());
            }
            Ok(Intake::Queued(source)) => {
                queued += 1;
                println!("queued {}", source.as_str());
            }
            Ok(Intake::Bounce(_)) => {
                skipped += 1;
                println!("message {index}: a bounce, not imported");
            }
            Ok(Intake::Ignored(reason)) => {
                skipped += 1;
                println!("message {index}: {reason}, not imported");
            }
            Err(e) => {
                failed += 1;
                eprintln!("message {index}: {e}");
            }
        }
    }
    println!("{queued} queued, {known} already imported, {skipped} skipped, {failed} failed");
    if failed > 0 {
        return Err(anyhow!("{failed} messages could not be imported"));
    }
    Ok(())
}
