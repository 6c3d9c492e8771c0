//! The admin function: what `switchboard agent …` does on the local file, for a stack on
//! AWS. It has no trigger and no URL; it runs only when someone allowed to invoke it in
//! the account does (`aws lambda invoke`), which is how the first admin is made and how
//! a lost admin key is replaced. The answer carries a new key once; the logs never do.

use super::Error;
use crate::model::{Agent, Role};
use crate::services::directory::Directory;
use lambda_runtime::{LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};

/// One command, as the invocation's JSON payload names it.
#[derive(Debug, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case", deny_unknown_fields)]
pub enum AdminCommand {
    /// `{"command": "create", "name": …, "email": …, "role": "admin"}` (role: `agent` by
    /// default).
    Create {
        name: String,
        email: String,
        #[serde(default = "agent_role")]
        role: Role,
    },
    /// `{"command": "list"}`: every agent.
    List,
    /// `{"command": "reset-key", "agent": <id or email>}`: a new key; the old one stops
    /// working.
    ResetKey { agent: String },
    /// `{"command": "disable", "agent": <id or email>}`: their key stops working and they
    /// are away.
    Disable { agent: String },
    /// `{"command": "set-password", "agent": <id or email>, "password": …}`: the
    /// password they sign in to the web inbox with; their sessions end.
    SetPassword { agent: String, password: Password },
    /// `{"command": "sign-in-link", "agent": <id or email>}`: a one-time sign-in link's
    /// path (`/app/link/…`, on the API's URL), good for 24 hours.
    SignInLink { agent: String },
}

/// A password in a command: never shown, whatever prints the command.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<password>")
    }
}

fn agent_role() -> Role {
    Role::Agent
}

/// What a command answers.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum AdminAnswer {
    /// A new agent or a new key: the key is shown this once.
    Key {
        agent: Agent,
        api_key: String,
    },
    Agents {
        agents: Vec<Agent>,
    },
    Agent {
        agent: Agent,
    },
    /// A sign-in link, shown this once.
    Link {
        agent: Agent,
        sign_in_path: String,
    },
}

/// Carries out one command on the stack's store.
pub async fn handle(directory: &Directory, command: AdminCommand) -> Result<AdminAnswer, Error> {
    let answer = match command {
        AdminCommand::Create { name, email, role } => {
            let (agent, api_key) = directory.create_agent(&name, &email, role).await?;
            AdminAnswer::Key { agent, api_key }
        }
        AdminCommand::List => AdminAnswer::Agents {
            agents: directory.all_agents().await?,
        },
        AdminCommand::ResetKey { agent } => {
            let agent = directory.find_agent(&agent).await?;
            let api_key = directory.reset_agent_key(agent.id).await?;
            AdminAnswer::Key { agent, api_key }
        }
        AdminCommand::Disable { agent } => {
            let agent = directory.find_agent(&agent).await?;
            AdminAnswer::Agent {
                agent: directory.disable_agent(agent.id).await?,
            }
        }
        AdminCommand::SignInLink { agent } => {
            let agent = directory.find_agent(&agent).await?;
            let token = directory.sign_in_link(agent.id).await?;
            AdminAnswer::Link {
                agent,
                sign_in_path: format!("/app/link/{token}"),
            }
        }
        AdminCommand::SetPassword { agent, password } => {
            let agent = directory.find_agent(&agent).await?;
            directory.set_password(agent.id, &password.0).await?;
            AdminAnswer::Agent { agent }
        }
    };
    Ok(answer)
}

/// Serves invocations until Lambda stops the process. A payload that is not a command,
/// or a command that fails (an email taken, no such agent), fails the invocation with
/// the reason, which `aws lambda invoke` shows.
pub async fn run(directory: Directory) -> Result<(), Error> {
    let directory = &directory;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let command: AdminCommand = serde_json::from_value(event.payload).map_err(|e| {
                format!(
                    "not a command ({e}): send {{\"command\": \"create\" | \"list\" | \
                     \"reset-key\" | \"disable\" | \"set-password\" | \"sign-in-link\", …}}"
                )
            })?;
            tracing::info!(command = ?CommandName(&command), "admin command");
            // Said as a person reads it, not as the error's debug form.
            handle(directory, command)
                .await
                .map_err(|e| Error::from(e.to_string()))
        },
    ))
    .await
}

/// A command's name for the log, without the names and addresses it carries.
struct CommandName<'a>(&'a AdminCommand);

impl std::fmt::Debug for CommandName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            AdminCommand::Create { .. } => "create",
            AdminCommand::List => "list",
            AdminCommand::ResetKey { .. } => "reset-key",
            AdminCommand::Disable { .. } => "disable",
            AdminCommand::SetPassword { .. } => "set-password",
            AdminCommand::SignInLink { .. } => "sign-in-link",
        })
    }
}
