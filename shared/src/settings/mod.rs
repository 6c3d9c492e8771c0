//! The one settings schema. [`schema`] lists every setting with its default;
//! [`Settings::read`] reads the ones the local server and the functions share, once, from
//! a [`Vars`] (the environment, with the local server's flags before it). What only one
//! side reads (the SQLite file, SSM parameter names) is read beside it, from the same
//! `Vars`, by that side.

#[cfg(feature = "embedded")]
pub mod local;
pub mod schema;
mod vars;

pub use schema::{ALL, Kind, Scope, Setting};
pub use vars::{ConfigError, Vars};

use crate::channels::email::outbound::OutboundSettings;
use crate::channels::twilio::voice::VoiceSettings;
use crate::config::{
    HttpConfig, PageConfig, PublicLimits, TwilioConfig, TwilioSender, WebhookSettings,
    trusted_proxy_hops,
};
use crate::model::{DefaultRegion, PhoneNumber};
use crate::services::erasure::Retention;
use crate::services::route::RoutePolicy;
use crate::services::webhooks::retry::RetrySchedule;
use schema as s;

/// What the local server and every function read alike.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The public routes' settings; each channel's webhook part is filled in once its
    /// secret is known.
    pub http: HttpConfig,
    pub route: RoutePolicy,
    /// How long resolved conversations are kept; none: for ever.
    pub retention: Option<Retention>,
    /// How long an available agent may be idle before they are set away; none: for ever.
    pub away_after_idle: Option<chrono::Duration>,
    pub webhooks: WebhookSettings,
    /// The log filter.
    pub log: String,
    pub telegram: TelegramOptions,
    pub email: EmailOptions,
    /// The Twilio account, when one is configured (its secret apart).
    pub twilio: Option<TwilioAccount>,
    /// How far a PBX call's timestamp may be from our clock.
    pub pbx_window_secs: i64,
    /// The language model agents may ask for drafts, when one is configured (its key
    /// apart).
    pub llm: Option<crate::services::drafting::ModelOptions>,
}

/// The Telegram bot's settings but its secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelegramOptions {
    pub api_url: String,
    pub welcome_text: Option<String>,
    pub groups_enabled: bool,
}

impl TelegramOptions {
    /// The bot's settings alone (what the `telegram` commands need).
    pub fn read(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            api_url: vars.url(&s::TELEGRAM_API_URL)?.unwrap_or_default(),
            welcome_text: vars.given(&s::TELEGRAM_WELCOME_TEXT),
            groups_enabled: vars.switch(&s::TELEGRAM_GROUPS)?,
        })
    }
}

/// The email channel's settings but its secrets.
#[derive(Clone, Debug)]
pub struct EmailOptions {
    /// Largest raw email taken.
    pub max_bytes: usize,
    /// Our own mail domains, lower case.
    pub own_domains: Vec<String>,
    /// Who replies come from and where customers answer; none: no From address is set.
    pub outbound: Option<OutboundSettings>,
}

/// The Twilio account but its auth token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwilioAccount {
    pub account_sid: String,
    pub api_url: String,
    /// What Twilio calls; none: the host of each webhook call.
    pub public_url: Option<String>,
    /// Where SMS replies come from; none: no SMS replies.
    pub sender: Option<TwilioSender>,
    pub voice: VoiceSettings,
}

impl TwilioAccount {
    /// The account with its auth token.
    pub fn config(&self, auth_token: String) -> Result<TwilioConfig, String> {
        let mut config = TwilioConfig::new(
            self.account_sid.clone(),
            auth_token,
            self.api_url.clone(),
            self.public_url.clone(),
            self.sender.clone(),
        )?;
        config.voice = self.voice.clone();
        Ok(config)
    }
}

/// The channels a bot answers first on: Telegram and the web form, where it can offer
/// its buttons.
fn read_answer_first(vars: &Vars) -> Result<Vec<crate::model::Channel>, ConfigError> {
    use crate::model::Channel;
    let mut channels = Vec::new();
    for name in vars.list(&s::ANSWER_FIRST) {
        match Channel::parse(&name.to_ascii_lowercase()) {
            Some(c @ (Channel::Telegram | Channel::Web)) if !channels.contains(&c) => {
                channels.push(c)
            }
            Some(Channel::Telegram | Channel::Web) => {}
            _ => {
                return Err(ConfigError::of(&s::ANSWER_FIRST)(format!(
                    "`{name}` is not a channel a bot answers on: telegram or web"
                )));
            }
        }
    }
    Ok(channels)
}

impl Settings {
    /// Reads and checks every shared setting; the first one given wrong is the error.
    pub fn read(vars: &Vars) -> Result<Self, ConfigError> {
        let public_url = vars.url(&s::PUBLIC_URL)?;
        let default_region = read_region(vars)?;
        let reopen_hours: u32 = vars.number(&s::REOPEN_WINDOW_HOURS)?;
        let webhooks = WebhookSettings {
            allowed_hosts: vars
                .list(&s::WEBHOOK_ALLOW_HOSTS)
                .iter()
                .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
                .collect(),
            schedule: RetrySchedule::parse(
                &vars.text(&s::WEBHOOK_RETRY_SECONDS).unwrap_or_default(),
            )
            .map_err(ConfigError::of(&s::WEBHOOK_RETRY_SECONDS))?,
        };
        // Its range is checked where the hook is configured: an unused value stops nothing.
        let pbx_window_secs: i64 = vars.number(&s::PBX_WINDOW_SECS)?;
        Ok(Self {
            http: HttpConfig {
                twilio: None,
                telegram: None,
                email: None,
                pbx: None,
                webform_max_bytes: vars.number(&s::WEBFORM_MAX_BYTES)?,
                limits: read_limits(vars)?,
                page: read_page(vars)?,
                default_region,
                public_url: public_url.clone(),
            },
            route: RoutePolicy {
                reopen_window: chrono::Duration::hours(i64::from(reopen_hours)),
                default_team: None,
                rules: Default::default(),
                answer_first: read_answer_first(vars)?,
            },
            retention: Retention::parse(vars.text(&s::RETENTION_DAYS).as_deref())
                .map_err(ConfigError::of(&s::RETENTION_DAYS))?,
            away_after_idle: read_idle(vars)?,
            webhooks,
            log: vars.text(&s::LOG).unwrap_or_default(),
            telegram: TelegramOptions::read(vars)?,
            email: read_email(vars)?,
            twilio: read_twilio(vars, public_url.as_deref(), default_region)?,
            pbx_window_secs,
            llm: read_llm(vars)?,
        })
    }

    /// Every setting at its default: what a server given nothing runs with.
    #[cfg(test)]
    pub(crate) fn defaults() -> Self {
        Self::read(&Vars::new(|_| None)).expect("the schema's defaults are valid")
    }

    /// Where customers reach the server, when only the running server knows it (the
    /// local server's own address): the links, and what Twilio calls, unless set.
    pub fn serving_at(mut self, url: String) -> Self {
        if let Some(twilio) = &mut self.twilio
            && twilio.public_url.is_none()
        {
            twilio.public_url = Some(url.clone());
        }
        self.http.public_url.get_or_insert(url);
        self
    }
}

/// The language model: both its URL and its model, or neither.
fn read_llm(vars: &Vars) -> Result<Option<crate::services::drafting::ModelOptions>, ConfigError> {
    match (vars.url(&s::LLM_URL)?, vars.given(&s::LLM_MODEL)) {
        (None, None) => Ok(None),
        (Some(url), Some(model)) => Ok(Some(crate::services::drafting::ModelOptions {
            url,
            model: model.trim().to_owned(),
        })),
        (Some(_), None) => Err(ConfigError::new(
            &s::LLM_MODEL,
            "is needed with SWITCHBOARD_LLM_URL: the model drafts are asked of",
        )),
        (None, Some(_)) => Err(ConfigError::new(
            &s::LLM_URL,
            "is needed with SWITCHBOARD_LLM_MODEL: the API the model is reached at",
        )),
    }
}

fn read_idle(vars: &Vars) -> Result<Option<chrono::Duration>, ConfigError> {
    match vars.parsed::<u32>(&s::AWAY_AFTER_IDLE_MINUTES)? {
        None => Ok(None),
        Some(0) => Err(ConfigError::new(
            &s::AWAY_AFTER_IDLE_MINUTES,
            "must be 1 or more (leave it unset to never set agents away)",
        )),
        Some(minutes) => Ok(Some(chrono::Duration::minutes(i64::from(minutes)))),
    }
}

fn read_region(vars: &Vars) -> Result<DefaultRegion, ConfigError> {
    DefaultRegion::parse(&vars.text(&s::DEFAULT_REGION).unwrap_or_default())
        .map_err(ConfigError::of(&s::DEFAULT_REGION))
}

fn read_page(vars: &Vars) -> Result<PageConfig, ConfigError> {
    PageConfig::new(
        vars.given(&s::PAGE_TITLE),
        vars.text(&s::PAGE_COLOR).unwrap_or_default(),
        vars.given(&s::PAGE_LOGO_URL),
        vars.text(&s::PAGE_LANGUAGE).unwrap_or_default(),
    )
    .map_err(ConfigError::naming(
        &[("logo", &s::PAGE_LOGO_URL), ("colour", &s::PAGE_COLOR)],
        &s::PAGE_LANGUAGE,
    ))?
    .in_time_zone(&vars.text(&s::TIME_ZONE).unwrap_or_default())
    .map_err(ConfigError::of(&s::TIME_ZONE))
}

fn read_limits(vars: &Vars) -> Result<PublicLimits, ConfigError> {
    let hops = vars.parsed::<u8>(&s::TRUSTED_PROXY_HOPS)?;
    Ok(PublicLimits {
        per_address_per_minute: vars.number(&s::WEBFORM_RATE_PER_MINUTE)?,
        per_link_per_minute: vars.number(&s::LINK_RATE_PER_MINUTE)?,
        trusted_proxy_hops: trusted_proxy_hops(vars.switch(&s::TRUST_PROXY)?, hops)
            .map_err(ConfigError::of(&s::TRUSTED_PROXY_HOPS))?,
    })
}

/// Email replies are possible when a From address is set; the other settings need it.
fn read_email(vars: &Vars) -> Result<EmailOptions, ConfigError> {
    let max_bytes: usize = vars.number(&s::EMAIL_MAX_BYTES)?;
    let own_domains = vars
        .list(&s::EMAIL_DOMAINS)
        .into_iter()
        .map(|d| d.to_ascii_lowercase())
        .collect();
    let outbound = match vars.given(&s::EMAIL_FROM) {
        None => None,
        Some(from) => {
            let name = vars.given(&s::EMAIL_FROM_NAME).map(|n| n.trim().to_owned());
            if name
                .as_deref()
                .is_some_and(|n| n.chars().any(char::is_control))
            {
                return Err(ConfigError::new(
                    &s::EMAIL_FROM_NAME,
                    "a display name is one line of text",
                ));
            }
            let reply = vars.given(&s::EMAIL_REPLY_ADDRESS);
            let outbound =
                OutboundSettings::new(from.trim(), name, reply.as_deref().map(str::trim)).map_err(
                    ConfigError::naming(
                        &[("reply address", &s::EMAIL_REPLY_ADDRESS)],
                        &s::EMAIL_FROM,
                    ),
                )?;
            Some(outbound)
        }
    };
    Ok(EmailOptions {
        max_bytes,
        own_domains,
        outbound,
    })
}

/// The Twilio account; none without an account SID.
fn read_twilio(
    vars: &Vars,
    public_url: Option<&str>,
    region: DefaultRegion,
) -> Result<Option<TwilioAccount>, ConfigError> {
    let Some(account_sid) = vars.given(&s::TWILIO_ACCOUNT_SID) else {
        return Ok(None);
    };
    let sender = match (
        vars.given(&s::TWILIO_FROM),
        vars.given(&s::TWILIO_MESSAGING_SERVICE_SID),
    ) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                &s::TWILIO_FROM,
                "set it or SWITCHBOARD_TWILIO_MESSAGING_SERVICE_SID, not both",
            ));
        }
        (Some(from), None) => Some(TwilioSender::From(
            PhoneNumber::parse(&from, region)
                .map_err(|e| ConfigError::new(&s::TWILIO_FROM, e.to_string()))?,
        )),
        (None, Some(service)) => Some(TwilioSender::MessagingService(service)),
        (None, None) => None,
    };
    let voice = VoiceSettings::configured(
        vars.given(&s::TWILIO_VOICE_GREETING).as_deref(),
        vars.text(&s::TWILIO_VOICE_LANGUAGE).as_deref(),
        vars.given(&s::TWILIO_VOICE_DIAL).as_deref(),
        (
            vars.given(&s::TWILIO_VOICE_HOURS).as_deref(),
            vars.given(&s::TWILIO_VOICE_CALENDAR).as_deref(),
        ),
        region,
    )
    .map_err(|problem| ConfigError {
        name: "SWITCHBOARD_TWILIO_VOICE_*",
        problem,
    })?;
    let account = TwilioAccount {
        account_sid,
        api_url: vars.url(&s::TWILIO_API_URL)?.unwrap_or_default(),
        public_url: vars
            .url(&s::TWILIO_PUBLIC_URL)?
            .or_else(|| public_url.map(str::to_owned)),
        sender,
        voice,
    };
    // The account and Messaging Service SIDs are checked here, with a stand-in token.
    account
        .config("unchecked".into())
        .map_err(ConfigError::naming(
            &[("Messaging Service", &s::TWILIO_MESSAGING_SERVICE_SID)],
            &s::TWILIO_ACCOUNT_SID,
        ))?;
    Ok(Some(account))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::read(&Vars::of(vars))
    }

    #[test]
    fn nothing_given_is_every_default_of_the_schema() {
        let d = Settings::defaults();
        assert_eq!(d.http.public_url, None);
        assert_eq!(d.http.default_region, DefaultRegion::parse("US").unwrap());
        assert_eq!(d.http.webform_max_bytes, 65_536);
        assert_eq!(d.http.limits.per_address_per_minute, 30);
        assert_eq!(d.http.limits.per_link_per_minute, 10);
        assert_eq!(d.http.limits.trusted_proxy_hops, 0);
        assert_eq!(d.http.page.title, "Support");
        assert_eq!(d.http.page.color, "#2557d6");
        assert_eq!(d.http.page.language, "en");
        assert_eq!(d.http.page.time_zone, chrono_tz::Tz::UTC);
        assert_eq!(d.route.reopen_window, chrono::Duration::hours(168));
        assert_eq!(d.retention, None);
        assert!(d.webhooks.allowed_hosts.is_empty());
        assert_eq!(d.webhooks.schedule.tries(), 8);
        assert_eq!(d.log, "info");
        assert_eq!(d.telegram.api_url, "https://api.telegram.org");
        assert!(!d.telegram.groups_enabled);
        assert_eq!(d.email.max_bytes, 40 * 1024 * 1024);
        assert!(d.email.outbound.is_none());
        assert_eq!(d.twilio, None);
        assert_eq!(d.pbx_window_secs, 300);
    }

    #[test]
    fn a_flag_comes_before_the_variable_and_blank_is_unset() {
        let env = |name: &str| match name {
            "SWITCHBOARD_PAGE_LANGUAGE" => Some("fa".to_owned()),
            "SWITCHBOARD_PAGE_COLOR" => Some("  ".to_owned()),
            "SWITCHBOARD_REOPEN_WINDOW_HOURS" => Some("24".to_owned()),
            _ => None,
        };
        let vars =
            Vars::new(env).with_overrides(vec![("SWITCHBOARD_REOPEN_WINDOW_HOURS", "2".into())]);
        let settings = Settings::read(&vars).unwrap();
        assert_eq!(settings.http.page.language, "fa");
        assert_eq!(settings.http.page.title, "پشتیبانی");
        assert_eq!(settings.http.page.color, "#2557d6");
        assert_eq!(settings.route.reopen_window, chrono::Duration::hours(2));
    }

    #[test]
    fn a_value_given_wrong_names_its_setting() {
        for (name, value) in [
            ("SWITCHBOARD_PUBLIC_URL", "help.example.com"),
            ("SWITCHBOARD_DEFAULT_REGION", "XX"),
            ("SWITCHBOARD_PAGE_COLOR", "red;}"),
            ("SWITCHBOARD_PAGE_LOGO_URL", "http://example.com/logo.png"),
            ("SWITCHBOARD_PAGE_LANGUAGE", "de"),
            ("SWITCHBOARD_TIME_ZONE", "Mars/Olympus"),
            ("SWITCHBOARD_REOPEN_WINDOW_HOURS", "-1"),
            ("SWITCHBOARD_EMAIL_MAX_BYTES", "many"),
            ("SWITCHBOARD_PBX_WINDOW_SECS", "soon"),
            ("SWITCHBOARD_WEBHOOK_RETRY_SECONDS", "5,soon"),
            ("SWITCHBOARD_TELEGRAM_API_URL", "api.telegram.org"),
            ("SWITCHBOARD_TELEGRAM_GROUPS", "sometimes"),
        ] {
            let err = read(&[(name, value)]).unwrap_err();
            assert_eq!(err.name, name, "{value}: {err}");
        }
    }

    #[test]
    fn a_twilio_setting_given_wrong_names_itself_and_an_unused_one_stops_nothing() {
        let sid = (
            "SWITCHBOARD_TWILIO_ACCOUNT_SID",
            "ACe2e0000000000000000000000000e2e0",
        );
        let err =
            read(&[sid, ("SWITCHBOARD_TWILIO_MESSAGING_SERVICE_SID", "MG-nope")]).unwrap_err();
        assert_eq!(
            err.name, "SWITCHBOARD_TWILIO_MESSAGING_SERVICE_SID",
            "{err}"
        );
        // The PBX window's range is the PBX hook's to check, when there is one.
        assert!(read(&[("SWITCHBOARD_PBX_WINDOW_SECS", "0")]).is_ok());
    }

    #[test]
    fn every_default_reads_as_its_setting_given_that_value() {
        // A default in the schema is a value like any other: giving it changes nothing.
        let defaults = Settings::defaults();
        for setting in ALL {
            let Some(default) = setting.default else {
                continue;
            };
            let given = read(&[(setting.name, default)]).unwrap();
            assert_eq!(
                format!("{given:?}"),
                format!("{defaults:?}"),
                "{}",
                setting.name
            );
        }
    }

    #[test]
    fn every_setting_is_in_the_readme_and_every_template_variable_in_the_schema() {
        let readme = include_str!("../../../README.md");
        for setting in ALL {
            let row = format!("| `{}` |", setting.name);
            assert!(
                readme.contains(&row),
                "the README has no row for {}",
                setting.name
            );
        }
        let template = include_str!("../../../infra/template.yaml");
        for word in template.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with("SWITCHBOARD_") {
                assert!(
                    ALL.iter().any(|s| s.name == word),
                    "the template sets {word}, which no setting reads"
                );
            }
        }
    }

    #[test]
    fn a_setting_s_flag_is_its_name_in_lower_case() {
        assert_eq!(schema::REOPEN_WINDOW_HOURS.flag(), "reopen-window-hours");
        assert_eq!(schema::DB.flag(), "db");
        let mut flags: Vec<String> = ALL.iter().map(|s| s.flag()).collect();
        flags.sort();
        flags.dedup();
        assert_eq!(flags.len(), ALL.len());
    }
}
