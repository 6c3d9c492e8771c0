//! The email channel's settings and `switchboard email import`.

use crate::flags::{self, Flags};
use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use shared::channels::email::mbox::split_messages;
use shared::config::EmailWebhook;
use shared::embedded::{BlobFolder, Embedded};
use shared::ports::MessageStore;
use shared::services::email::{EmailIntake, Intake};
use shared::services::ingest::Ingest;
use shared::settings::local::{blob_dir, db_path};
use shared::settings::schema as s;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum EmailCommand {
    /// Queue the emails of FILE (one .eml, or an mbox) as if they had been received;
    /// `serve` routes them. Importing a file twice stores nothing twice.
    Import(ImportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    flags: Flags<flags::EmailImport>,
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
    let vars = args.flags.vars();
    let db = db_path(&vars);
    let store = Embedded::open(&db).with_context(|| format!("cannot open {}", db.display()))?;
    let blob_dir = blob_dir(&vars, &db);
    // Any size: the file is the operator's own.
    let settings = EmailWebhook::new(
        "-".repeat(16),
        usize::MAX,
        vars.list(&s::EMAIL_DOMAINS),
        vars.switch(&s::EMAIL_FROM_PROVEN)?,
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
