//! The settings as flags. Each command offers the settings it reads as `--flag VALUE`
//! (`--flag` alone for a switch), taken before the environment variable of the same
//! setting; the settings schema gives their names, help and defaults.

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use shared::settings::{ALL, Kind, Scope, Setting, Vars, schema as s};
use std::marker::PhantomData;

/// Which settings a command offers as flags.
pub trait Selection {
    fn settings() -> Vec<&'static Setting>;
}

/// Every setting the local server reads.
pub struct Serve;
impl Selection for Serve {
    fn settings() -> Vec<&'static Setting> {
        ALL.iter()
            .copied()
            .filter(|s| s.scope != Scope::Aws)
            .collect()
    }
}

/// The SQLite file alone.
pub struct Db;
impl Selection for Db {
    fn settings() -> Vec<&'static Setting> {
        vec![&s::DB]
    }
}

/// The Telegram bot.
pub struct Telegram;
impl Selection for Telegram {
    fn settings() -> Vec<&'static Setting> {
        vec![
            &s::TELEGRAM_BOT_TOKEN,
            &s::TELEGRAM_WEBHOOK_SECRET,
            &s::TELEGRAM_API_URL,
            &s::TELEGRAM_WELCOME_TEXT,
            &s::TELEGRAM_GROUPS,
        ]
    }
}

/// What an email import reads.
pub struct EmailImport;
impl Selection for EmailImport {
    fn settings() -> Vec<&'static Setting> {
        vec![
            &s::DB,
            &s::BLOB_DIR,
            &s::EMAIL_DOMAINS,
            &s::EMAIL_FROM_PROVEN,
        ]
    }
}

/// The flags given, by setting.
pub struct Flags<S> {
    given: Vec<(&'static str, String)>,
    selection: PhantomData<S>,
}

impl<S> Flags<S> {
    /// The environment, with these flags before it.
    pub fn vars(&self) -> Vars<'static> {
        Vars::env().with_overrides(self.given.clone())
    }
}

impl<S: Selection> FromArgMatches for Flags<S> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let given = S::settings()
            .into_iter()
            .filter_map(|setting| match setting.kind {
                Kind::Switch => matches
                    .get_flag(setting.name)
                    .then(|| (setting.name, "true".to_owned())),
                Kind::Value | Kind::Secret => matches
                    .get_one::<String>(setting.name)
                    .map(|value| (setting.name, value.clone())),
            })
            .collect();
        Ok(Self {
            given,
            selection: PhantomData,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl<S: Selection> Args for Flags<S> {
    fn augment_args(command: Command) -> Command {
        S::settings()
            .into_iter()
            .fold(command, |command, setting| command.arg(flag(setting)))
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

fn flag(setting: &'static Setting) -> Arg {
    let mut help = format!("{} [env: {}]", setting.help.trim(), setting.name);
    if let (Some(default), Kind::Value | Kind::Switch) = (setting.default, setting.kind) {
        help.push_str(&format!(" [default: {default}]"));
    }
    let arg = Arg::new(setting.name).long(setting.flag()).help(help);
    match setting.kind {
        Kind::Switch => arg.action(ArgAction::SetTrue),
        Kind::Value => arg.value_name("VALUE"),
        Kind::Secret => arg.value_name("VALUE").help(format!(
            "{} [env: {}; prefer it: flags show in `ps`]",
            setting.help.trim(),
            setting.name
        )),
    }
}
