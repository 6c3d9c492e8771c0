//! A function's typed configuration: the shared settings (read as the local server reads
//! them) and what only a function has: SSM parameter names, retry delays, the SES
//! configuration set, the resources the template names.

use super::telephony::{PbxSettings, TwilioSettings, pbx_settings, twilio_settings};
use crate::aws::AwsSettings;
use crate::channels::email::outbound::OutboundSettings;
use crate::config::HttpConfig;
use crate::services::erasure::Retention;
use crate::services::route::RoutePolicy;
use crate::settings::{ConfigError, EmailOptions, Settings, Vars, schema as s};
use std::time::Duration;

/// Everything a function may need; each uses its part.
#[derive(Clone, Debug)]
pub struct FunctionConfig {
    pub aws: AwsSettings,
    pub http: HttpConfig,
    pub route: RoutePolicy,
    /// Name of the SSM SecureString that signs customer links (`SWITCHBOARD_LINK_SECRET_PARAMETER`).
    pub link_secret_parameter: Option<String>,
    /// Longest a failed queue message waits before it is handed out again
    /// (`SWITCHBOARD_MAX_RETRY_DELAY_SECS`): the backoff is capped at this.
    pub max_retry_delay: Duration,
    /// Log filter (`SWITCHBOARD_LOG`, e.g. `info`, `shared=debug`).
    pub log: String,
    /// The Telegram bot, when the stack has one (`SWITCHBOARD_TELEGRAM_*`).
    pub telegram: Option<TelegramSettings>,
    /// The Twilio account, when the stack has one (`SWITCHBOARD_TWILIO_*`).
    pub twilio: Option<TwilioSettings>,
    /// The PBX hook, when the stack has one (`SWITCHBOARD_PBX_*`).
    pub pbx: Option<PbxSettings>,
    /// Replies by email through SES, when the stack sends email (`SWITCHBOARD_EMAIL_FROM`).
    pub email: Option<EmailSending>,
    /// Received email: the size limit and our own domains (`SWITCHBOARD_EMAIL_*`), and
    /// where the receipt rule writes (`SWITCHBOARD_SES_OBJECT_PREFIX`).
    pub email_intake: EmailIntakeSettings,
    /// How long resolved conversations are kept (`SWITCHBOARD_RETENTION_DAYS`); none:
    /// for ever. The sweeper erases what is past it.
    pub retention: Option<Retention>,
    /// How long an available agent may be idle before the sweeper sets them away
    /// (`SWITCHBOARD_AWAY_AFTER_IDLE_MINUTES`); none: never.
    pub away_after_idle: Option<chrono::Duration>,
    /// Outbound webhooks (`SWITCHBOARD_WEBHOOK_*`).
    pub webhooks: crate::config::WebhookSettings,
    /// The language model agents may ask for drafts (`SWITCHBOARD_LLM_URL`,
    /// `SWITCHBOARD_LLM_MODEL`) and the SSM SecureString holding its key
    /// (`SWITCHBOARD_LLM_API_KEY_PARAMETER`).
    pub llm: Option<(crate::services::drafting::ModelOptions, Option<String>)>,
}

/// What the email-inbound function reads each email with.
#[derive(Clone, Debug)]
pub struct EmailIntakeSettings {
    pub object_prefix: String,
    pub max_bytes: usize,
    pub own_domains: Vec<String>,
}

impl FunctionConfig {
    /// The channels the sender function sends on, as this stack configures it: replies
    /// (and notices) are taken for these. The bot's token and the accounts' secrets stay
    /// with the sender.
    pub fn sender_channels(&self) -> crate::backend::ReplyChannels {
        use crate::model::Channel;
        let mut channels = crate::backend::reply_channels(&crate::backend::base_channels());
        // Telegram replies may carry files.
        if self.telegram.is_some() {
            channels.insert(Channel::Telegram, true);
        }
        // SMS, when the account has a number or Messaging Service to send from (text
        // only: the sender sends no MMS).
        if self
            .twilio
            .as_ref()
            .is_some_and(|t| t.account.sender.is_some())
        {
            channels.insert(Channel::Sms, false);
        }
        // Email, when the stack sends email through SES (with the agent's files).
        if self.email.is_some() {
            channels.insert(Channel::Email, true);
        }
        channels
    }
}

/// Replies by email through SES v2: who they come from, where customers answer, and the
/// configuration set that publishes their bounces, complaints and deliveries.
#[derive(Clone, Debug)]
pub struct EmailSending {
    /// `SWITCHBOARD_EMAIL_FROM`, `SWITCHBOARD_EMAIL_FROM_NAME` and
    /// `SWITCHBOARD_EMAIL_REPLY_ADDRESS` (the From address when unset), as in local mode.
    pub outbound: OutboundSettings,
    /// `SWITCHBOARD_SES_CONFIGURATION_SET`; none: SES publishes no events for replies.
    pub configuration_set: Option<String>,
}

/// Where a function finds the Telegram bot. Secrets are named, not given: each function
/// reads from SSM only the one it needs, and only if its role may.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelegramSettings {
    /// SSM SecureString with the bot token (`SWITCHBOARD_TELEGRAM_BOT_TOKEN_PARAMETER`):
    /// the router fetches files with it, the sender replies with it.
    pub bot_token_parameter: String,
    /// SSM SecureString with the webhook's secret token
    /// (`SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET_PARAMETER`): the webhook function checks it.
    pub webhook_secret_parameter: Option<String>,
    /// The Bot API's base URL (`SWITCHBOARD_TELEGRAM_API_URL`).
    pub api_url: String,
    /// Take messages from groups too (`SWITCHBOARD_TELEGRAM_GROUPS`).
    pub groups_enabled: bool,
    /// The answer to `/start` (`SWITCHBOARD_TELEGRAM_WELCOME_TEXT`).
    pub welcome_text: Option<String>,
    /// How many sender instances may run at once (`SWITCHBOARD_TELEGRAM_SENDERS`, the
    /// outbound event source's maximum concurrency): each keeps to its share of the
    /// bot's 30 messages a second.
    pub senders: u32,
}

impl FunctionConfig {
    /// From the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Vars::env())
    }

    /// The shared settings, then the function's own.
    pub fn read(vars: &Vars) -> Result<Self, ConfigError> {
        let shared = Settings::read(vars)?;
        let telegram = match vars.given(&s::TELEGRAM_BOT_TOKEN_PARAMETER) {
            None => None,
            Some(bot_token_parameter) => Some(TelegramSettings {
                bot_token_parameter,
                webhook_secret_parameter: vars.given(&s::TELEGRAM_WEBHOOK_SECRET_PARAMETER),
                api_url: shared.telegram.api_url.clone(),
                groups_enabled: shared.telegram.groups_enabled,
                welcome_text: shared.telegram.welcome_text.clone(),
                senders: match vars.number(&s::TELEGRAM_SENDERS)? {
                    0 => {
                        return Err(ConfigError::new(&s::TELEGRAM_SENDERS, "must be at least 1"));
                    }
                    n => n,
                },
            }),
        };
        let max_retry_secs: u64 = vars.number(&s::MAX_RETRY_DELAY_SECS)?;
        let EmailOptions {
            max_bytes,
            own_domains,
            outbound,
        } = shared.email;
        Ok(Self {
            aws: AwsSettings::read(vars),
            http: shared.http,
            route: shared.route,
            link_secret_parameter: vars.given(&s::LINK_SECRET_PARAMETER),
            max_retry_delay: Duration::from_secs(max_retry_secs),
            log: shared.log,
            telegram,
            twilio: twilio_settings(vars, shared.twilio)?,
            pbx: pbx_settings(vars, shared.pbx_window_secs)?,
            email: outbound
                .map(|outbound| email_sending(vars, outbound))
                .transpose()?,
            email_intake: EmailIntakeSettings {
                object_prefix: vars.text(&s::SES_OBJECT_PREFIX).unwrap_or_default(),
                max_bytes,
                own_domains,
            },
            retention: shared.retention,
            away_after_idle: shared.away_after_idle,
            webhooks: shared.webhooks,
            llm: shared
                .llm
                .map(|options| (options, vars.given(&s::LLM_API_KEY_PARAMETER))),
        })
    }
}

/// Email sending through SES: the From settings and the configuration set.
fn email_sending(vars: &Vars, outbound: OutboundSettings) -> Result<EmailSending, ConfigError> {
    let configuration_set = vars
        .given(&s::SES_CONFIGURATION_SET)
        .map(|set| set.trim().to_owned())
        .map(|set| {
            // SES: letters, digits, `_` and `-`, at most 64.
            let valid = set.len() <= 64
                && set
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if valid {
                Ok(set)
            } else {
                Err(ConfigError::new(
                    &s::SES_CONFIGURATION_SET,
                    format!(
                        "`{set}` is not a configuration set name (letters, digits, _ and -, at most 64)"
                    ),
                ))
            }
        })
        .transpose()?;
    Ok(EmailSending {
        outbound,
        configuration_set,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<FunctionConfig, ConfigError> {
        FunctionConfig::read(&Vars::of(vars))
    }

    #[test]
    fn nothing_set_gives_the_local_servers_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.http.public_url, None);
        assert_eq!(c.http.limits.per_address_per_minute, 30);
        assert_eq!(c.http.limits.per_link_per_minute, 10);
        assert_eq!(c.http.limits.trusted_proxy_hops, 0);
        assert_eq!(c.http.webform_max_bytes, 65_536);
        assert_eq!(c.route.reopen_window, chrono::Duration::hours(168));
        assert_eq!(c.max_retry_delay, Duration::from_secs(300));
        assert_eq!(c.link_secret_parameter, None);
        assert_eq!(c.log, "info");
        assert_eq!(c.telegram, None);
        assert!(c.email.is_none());
        assert_eq!(c.retention, None);
    }

    #[test]
    fn retention_is_off_unless_a_number_of_days_is_set() {
        assert_eq!(
            config(&[("SWITCHBOARD_RETENTION_DAYS", "")])
                .unwrap()
                .retention,
            None
        );
        let c = config(&[("SWITCHBOARD_RETENTION_DAYS", "90")]).unwrap();
        assert_eq!(c.retention.map(Retention::days), Some(90));
        for wrong in ["0", "-3", "soon", "36501"] {
            let err = config(&[("SWITCHBOARD_RETENTION_DAYS", wrong)]).unwrap_err();
            assert_eq!(err.name, "SWITCHBOARD_RETENTION_DAYS", "{wrong}");
        }
    }

    #[test]
    fn a_from_address_turns_email_replies_on() {
        // The template passes its email parameters through, empty without email sending.
        let c = config(&[
            ("SWITCHBOARD_EMAIL_FROM", ""),
            ("SWITCHBOARD_EMAIL_FROM_NAME", ""),
            ("SWITCHBOARD_SES_CONFIGURATION_SET", ""),
        ])
        .unwrap();
        assert!(c.email.is_none());

        let c = config(&[("SWITCHBOARD_EMAIL_FROM", "support@help.example.com")]).unwrap();
        let email = c.email.unwrap();
        assert_eq!(email.outbound.from.as_str(), "support@help.example.com");
        assert_eq!(
            email.outbound.reply_address.as_str(),
            "support@help.example.com"
        );
        assert_eq!(email.outbound.from_name, None);
        assert_eq!(email.configuration_set, None);

        let c = config(&[
            ("SWITCHBOARD_EMAIL_FROM", " Support@Help.Example.com "),
            ("SWITCHBOARD_EMAIL_FROM_NAME", "پشتیبانی Acme"),
            (
                "SWITCHBOARD_EMAIL_REPLY_ADDRESS",
                "answers@help.example.com",
            ),
            ("SWITCHBOARD_SES_CONFIGURATION_SET", "switchboard-replies"),
        ])
        .unwrap();
        let email = c.email.unwrap();
        assert_eq!(email.outbound.from.as_str(), "support@help.example.com");
        assert_eq!(email.outbound.from_name.as_deref(), Some("پشتیبانی Acme"));
        assert_eq!(
            email.outbound.reply_address.as_str(),
            "answers@help.example.com"
        );
        assert_eq!(
            email.configuration_set.as_deref(),
            Some("switchboard-replies")
        );
    }

    #[test]
    fn the_bot_token_parameter_turns_telegram_on() {
        // The template passes its Telegram parameters through, empty when there is no bot.
        let c = config(&[
            ("SWITCHBOARD_TELEGRAM_BOT_TOKEN_PARAMETER", ""),
            ("SWITCHBOARD_TELEGRAM_GROUPS", "false"),
        ])
        .unwrap();
        assert_eq!(c.telegram, None);
        let c = config(&[
            (
                "SWITCHBOARD_TELEGRAM_BOT_TOKEN_PARAMETER",
                "/sb/telegram-bot-token",
            ),
            (
                "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET_PARAMETER",
                "/sb/telegram-secret",
            ),
            ("SWITCHBOARD_TELEGRAM_GROUPS", "true"),
            ("SWITCHBOARD_TELEGRAM_WELCOME_TEXT", "سلام! How can we help?"),
            ("SWITCHBOARD_TELEGRAM_SENDERS", "2"),
        ])
        .unwrap();
        assert_eq!(
            c.telegram,
            Some(TelegramSettings {
                bot_token_parameter: "/sb/telegram-bot-token".into(),
                webhook_secret_parameter: Some("/sb/telegram-secret".into()),
                api_url: "https://api.telegram.org".into(),
                groups_enabled: true,
                welcome_text: Some("سلام! How can we help?".into()),
                senders: 2,
            })
        );
    }

    #[test]
    fn trust_proxy_is_one_hop_and_the_hop_count_can_say_more() {
        let hops = |vars: &[(&str, &str)]| config(vars).unwrap().http.limits.trusted_proxy_hops;
        assert_eq!(hops(&[("SWITCHBOARD_TRUST_PROXY", "true")]), 1);
        assert_eq!(hops(&[("SWITCHBOARD_TRUSTED_PROXY_HOPS", "2")]), 2);
        assert_eq!(
            hops(&[
                ("SWITCHBOARD_TRUST_PROXY", "false"),
                ("SWITCHBOARD_TRUSTED_PROXY_HOPS", "")
            ]),
            0
        );
        let both = [
            ("SWITCHBOARD_TRUST_PROXY", "true"),
            ("SWITCHBOARD_TRUSTED_PROXY_HOPS", "0"),
        ];
        assert_eq!(
            config(&both).unwrap_err().name,
            "SWITCHBOARD_TRUSTED_PROXY_HOPS"
        );
        let c = config(&[
            ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "5"),
            ("SWITCHBOARD_LINK_RATE_PER_MINUTE", "0"),
        ])
        .unwrap();
        assert_eq!(c.http.limits.per_address_per_minute, 5);
        assert_eq!(c.http.limits.per_link_per_minute, 0);
    }

    #[test]
    fn an_empty_public_url_means_the_requests_own_host() {
        // The template passes its `PublicUrl` parameter through, empty by default.
        let c = config(&[("SWITCHBOARD_PUBLIC_URL", "")]).unwrap();
        assert_eq!(c.http.public_url, None);
        let c = config(&[("SWITCHBOARD_PUBLIC_URL", "https://help.example.com/")]).unwrap();
        assert_eq!(
            c.http.public_url.as_deref(),
            Some("https://help.example.com")
        );
    }

    #[test]
    fn a_wrong_value_names_its_variable() {
        for (name, value) in [
            ("SWITCHBOARD_PUBLIC_URL", "help.example.com"),
            ("SWITCHBOARD_DEFAULT_REGION", "XX"),
            ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "-1"),
            ("SWITCHBOARD_MAX_RETRY_DELAY_SECS", "soon"),
            ("SWITCHBOARD_TRUST_PROXY", "maybe"),
            ("SWITCHBOARD_TRUSTED_PROXY_HOPS", "256"),
            ("SWITCHBOARD_LINK_RATE_PER_MINUTE", "often"),
        ] {
            let err = config(&[(name, value)]).unwrap_err();
            assert_eq!(err.name, name);
        }
        for (name, value) in [
            ("SWITCHBOARD_TELEGRAM_API_URL", "api.telegram.org"),
            ("SWITCHBOARD_TELEGRAM_GROUPS", "sometimes"),
            ("SWITCHBOARD_TELEGRAM_SENDERS", "0"),
        ] {
            let vars = [
                ("SWITCHBOARD_TELEGRAM_BOT_TOKEN_PARAMETER", "/t"),
                (name, value),
            ];
            let err = config(&vars).unwrap_err();
            assert_eq!(err.name, name);
        }
        for (name, value) in [
            ("SWITCHBOARD_EMAIL_FROM", "support at example.com"),
            ("SWITCHBOARD_EMAIL_REPLY_ADDRESS", "answers@"),
            ("SWITCHBOARD_EMAIL_FROM_NAME", "Acme\r\nBcc: x@example.com"),
            ("SWITCHBOARD_SES_CONFIGURATION_SET", "replies;drop"),
        ] {
            let mut vars = vec![(name, value)];
            if name != "SWITCHBOARD_EMAIL_FROM" {
                vars.push(("SWITCHBOARD_EMAIL_FROM", "support@example.com"));
            }
            let err = config(&vars).unwrap_err();
            assert_eq!(err.name, name, "{err}");
        }
    }
}
