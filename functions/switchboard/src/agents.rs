//! `switchboard agent …`: the admin's way in on the local SQLite file.

use crate::flags::{self, Flags};
use anyhow::{anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use shared::embedded::Embedded;
use shared::model::{Agent, Role};
use shared::services::ServiceError;
use shared::services::directory::{AgentPatch, Directory, checked_extension};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Subcommand)]
pub enum AgentCommand {
    /// Create an agent and print their API key (alone, on the last line).
    Create(CreateAgentArgs),
    /// List every agent: id, role, email, name, availability.
    List(ExistingDb),
    /// Give an agent a new API key (printed alone on the last line); the old one stops
    /// working at once.
    ResetKey(WhichAgent),
    /// Lock an agent out: their key stops working and nothing new is assigned to them.
    /// `reset-key` lets them in again.
    Disable(WhichAgent),
    /// Set the password an agent signs in to the web inbox with, read from the first
    /// line of standard input (12 to 256 characters); their sessions end.
    SetPassword(WhichAgent),
    /// Print a one-time sign-in link for the web inbox (good for 24 hours; the agent may
    /// then set a password there), alone on the last line.
    SignInLink(SignInLinkArgs),
}

#[derive(Args)]
pub struct SignInLinkArgs {
    #[command(flatten)]
    which: WhichAgent,
    /// Where the server is reached, as the agent's browser reaches it [default:
    /// SWITCHBOARD_PUBLIC_URL, else http://127.0.0.1:8080].
    #[arg(long)]
    url: Option<String>,
}

#[derive(Args)]
pub struct WhichAgent {
    #[command(flatten)]
    db: ExistingDb,
    /// The agent's id (`ag_…`) or email address, as `agent list` shows them.
    agent: String,
}

/// The SQLite file of a running installation; it must exist.
#[derive(Args)]
pub struct ExistingDb {
    #[command(flatten)]
    flags: Flags<flags::Db>,
}

impl ExistingDb {
    /// The SQLite file the server uses.
    fn path(&self) -> PathBuf {
        shared::settings::local::db_path(&self.flags.vars())
    }
}

#[derive(Args)]
pub struct CreateAgentArgs {
    #[command(flatten)]
    db: ExistingDb,
    /// Make the SQLite file when it does not exist yet (a new installation).
    #[arg(long)]
    create: bool,
    #[arg(long)]
    name: String,
    #[arg(long)]
    email: String,
    /// The PBX extension the agent answers calls on (a call the PBX reports answered
    /// there is assigned to them).
    #[arg(long)]
    phone_extension: Option<String>,
    #[arg(long, value_enum, default_value_t = RoleArg::Agent)]
    role: RoleArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Agent,
}

pub async fn run(command: AgentCommand) -> anyhow::Result<()> {
    match command {
        AgentCommand::Create(args) => create(args).await,
        AgentCommand::List(db) => list(&db).await,
        AgentCommand::ResetKey(which) => reset_key(which).await,
        AgentCommand::Disable(which) => disable(which).await,
        AgentCommand::SetPassword(which) => set_password(which).await,
        AgentCommand::SignInLink(args) => sign_in_link(args).await,
    }
}

/// The directory over the SQLite file at `path`. A missing file is refused unless
/// `create`: an agent made in a file the server does not read has a key it refuses.
fn directory(path: &Path, create: bool) -> anyhow::Result<Directory> {
    if !create && !path.exists() {
        bail!(
            "{} does not exist: give the --db the server uses (or SWITCHBOARD_DB), \
             or --create to start a new installation there",
            path.display()
        );
    }
    let store =
        Arc::new(Embedded::open(path).map_err(|e| anyhow!("cannot open {}: {e}", path.display()))?);
    Ok(Directory {
        contacts: store.clone(),
        conversations: store.clone(),
        agents: store.clone(),
        teams: store.clone(),
        sessions: store.clone(),
        tries: store,
    })
}

async fn create(args: CreateAgentArgs) -> anyhow::Result<()> {
    // Checked before anything is opened or made, so a wrong one creates nothing.
    let extension = args
        .phone_extension
        .as_deref()
        .map(checked_extension)
        .transpose()
        .map_err(|e| anyhow!("--phone-extension: {e}"))?;
    let directory = directory(&args.db.path(), args.create)?;
    let role = match args.role {
        RoleArg::Admin => Role::Admin,
        RoleArg::Agent => Role::Agent,
    };
    let (mut agent, key) = directory
        .create_agent(&args.name, &args.email, role)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    if let Some(extension) = extension {
        let patch = AgentPatch {
            phone_extension: Some(Some(extension)),
            ..Default::default()
        };
        agent = directory
            .update_agent(agent.id, patch)
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }
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

async fn list(db: &ExistingDb) -> anyhow::Result<()> {
    let directory = directory(&db.path(), false)?;
    for agent in directory.all_agents().await.map_err(|e| anyhow!("{e}"))? {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            agent.id,
            agent.role.as_str(),
            agent.email,
            agent.name,
            agent.availability.as_str()
        );
    }
    Ok(())
}

/// The directory of the installation's file and the agent `which` names in it.
async fn named_agent(which: &WhichAgent) -> anyhow::Result<(Directory, Agent)> {
    let directory = directory(&which.db.path(), false)?;
    let agent = directory
        .find_agent(&which.agent)
        .await
        .map_err(|e| match e {
            ServiceError::NotFound(_) => anyhow!(
                "no agent {}: `switchboard agent list` shows who there is",
                which.agent
            ),
            other => anyhow!("{other}"),
        })?;
    Ok((directory, agent))
}

async fn reset_key(which: WhichAgent) -> anyhow::Result<()> {
    let (directory, agent) = named_agent(&which).await?;
    let key = directory
        .reset_agent_key(agent.id)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    println!(
        "new key for {} <{}> ({}); the old one no longer works",
        agent.name, agent.email, agent.id
    );
    println!("API key (shown once; keep it safe):");
    println!("{key}");
    Ok(())
}

async fn disable(which: WhichAgent) -> anyhow::Result<()> {
    let (directory, agent) = named_agent(&which).await?;
    let agent = directory
        .disable_agent(agent.id)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    println!(
        "disabled {} <{}> ({}): their key no longer works and they are {}",
        agent.name,
        agent.email,
        agent.id,
        agent.availability.as_str()
    );
    Ok(())
}

async fn set_password(which: WhichAgent) -> anyhow::Result<()> {
    let (directory, agent) = named_agent(&which).await?;
    eprintln!("password for {} <{}> (one line):", agent.name, agent.email);
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']);
    directory
        .set_password(agent.id, password)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    println!(
        "password set for {} <{}> ({}): they sign in at /app",
        agent.name, agent.email, agent.id
    );
    Ok(())
}

async fn sign_in_link(args: SignInLinkArgs) -> anyhow::Result<()> {
    let (directory, agent) = named_agent(&args.which).await?;
    let token = directory
        .sign_in_link(agent.id)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    println!(
        "a sign-in link for {} <{}> ({}), good once within 24 hours:",
        agent.name, agent.email, agent.id
    );
    let url = args
        .url
        .or_else(|| std::env::var("SWITCHBOARD_PUBLIC_URL").ok())
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    println!("{}/app/link/{token}", url.trim_end_matches('/'));
    Ok(())
}
