//! The typed settings the HTTP layer and the services run with, validated at start.

use crate::model::DefaultRegion;

/// How the hosted pages look.
#[derive(Clone, Debug)]
pub struct PageConfig {
    pub title: String,
    /// A CSS colour for the header and buttons.
    pub color: String,
    pub logo_url: Option<String>,
    /// `en` or `fa`.
    pub language: String,
}

impl PageConfig {
    pub fn new(
        title: String,
        color: String,
        logo_url: Option<String>,
        language: String,
    ) -> Result<Self, String> {
        let color_ok =
            color.len() <= 32 && color.chars().all(|c| c.is_ascii_alphanumeric() || c == '#');
        if !color_ok {
            return Err(format!("`{color}` is not a colour: use a name or #rrggbb"));
        }
        if let Some(logo) = &logo_url
            && !(logo.starts_with("https://") || logo.starts_with("data:image/"))
        {
            return Err("the logo URL must start with https:// or data:image/".into());
        }
        if !matches!(language.as_str(), "en" | "fa") {
            return Err(format!("`{language}` is not a page language (en, fa)"));
        }
        Ok(Self {
            title,
            color,
            logo_url,
            language,
        })
    }
}

/// A secret (a token, a password): its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The Telegram bot, when one is configured.
#[derive(Clone, Debug)]
pub struct TelegramConfig {
    /// From BotFather; part of every Bot API URL, so never logged.
    pub bot_token: Secret,
    /// Telegram echoes it in `X-Telegram-Bot-Api-Secret-Token` on every webhook call.
    pub webhook_secret: Secret,
    /// `https://api.telegram.org`, or a stand-in.
    pub api_url: String,
    /// The answer to `/start`, if any.
    pub welcome_text: Option<String>,
    /// Take messages from groups too.
    pub groups_enabled: bool,
}

impl TelegramConfig {
    pub fn new(
        bot_token: String,
        webhook_secret: String,
        api_url: String,
        welcome_text: Option<String>,
        groups_enabled: bool,
    ) -> Result<Self, String> {
        check_bot_token(&bot_token)?;
        check_webhook_secret(&webhook_secret)?;
        let url = url::Url::parse(&api_url)
            .map_err(|e| format!("the Telegram API URL `{api_url}` is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("the Telegram API URL must be http:// or https://".into());
        }
        let welcome_text = welcome_text.filter(|w| !w.trim().is_empty());
        if welcome_text
            .as_ref()
            .is_some_and(|w| w.chars().count() > 4096)
        {
            return Err("the Telegram welcome text is longer than 4096 characters".into());
        }
        Ok(Self {
            bot_token: Secret::new(bot_token),
            webhook_secret: Secret::new(webhook_secret),
            api_url,
            welcome_text,
            groups_enabled,
        })
    }
}

/// A bot token as BotFather hands it out: `<bot id>:<key>`.
pub fn check_bot_token(token: &str) -> Result<(), String> {
    let ok = token.split_once(':').is_some_and(|(id, rest)| {
        !id.is_empty()
            && id.chars().all(|c| c.is_ascii_digit())
            && !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    });
    if ok {
        Ok(())
    } else {
        Err("the Telegram bot token should look like `123456:ABC-def…` (from BotFather)".into())
    }
}

/// A webhook secret token Telegram accepts: 1–256 of `A-Z a-z 0-9 _ -`.
pub fn check_webhook_secret(secret: &str) -> Result<(), String> {
    let ok = (1..=256).contains(&secret.len())
        && secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err("the Telegram webhook secret must be 1–256 of A-Z a-z 0-9 _ - (Telegram's rule)".into())
    }
}

/// What the public and agent routers need to know.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Where customers reach this server; links handed out start with it. `None`: the
    /// scheme and host each request came in on (behind API Gateway, whose URL the SAM
    /// template cannot hand to its own functions).
    pub public_url: Option<String>,
    pub default_region: DefaultRegion,
    pub webform_max_bytes: usize,
    /// Web-form submissions per client address per minute; 0 turns the limit off.
    pub webform_rate_per_minute: u32,
    /// Take the client's address from `X-Forwarded-For` (behind a proxy you run).
    pub trust_proxy: bool,
    pub page: PageConfig,
    /// The Telegram webhook's settings; none when no bot is configured.
    pub telegram: Option<TelegramWebhook>,
    /// The email webhook's settings; none when it is off.
    pub email: Option<EmailWebhook>,
}

/// What `POST /webhooks/email` checks and parses with.
#[derive(Clone, Debug)]
pub struct EmailWebhook {
    /// Sent by the relay in `X-Switchboard-Email-Secret`.
    pub secret: Secret,
    /// Largest raw email taken.
    pub max_bytes: usize,
    pub parse: crate::channels::email::ParseSettings,
    pub inbound: crate::channels::email::InboundSettings,
}

impl EmailWebhook {
    /// `own_domains`: our mail domains (mail from them is never answered). A secret
    /// shorter than 16 characters is refused: it is all that guards the route.
    pub fn new(
        secret: String,
        max_bytes: usize,
        own_domains: Vec<String>,
        from_proven: bool,
    ) -> Result<Self, String> {
        if secret.trim().len() < 16 {
            return Err("the email webhook secret must be at least 16 characters".into());
        }
        if max_bytes < 1024 {
            return Err("the email size limit must be at least 1024 bytes".into());
        }
        Ok(Self {
            secret: Secret::new(secret),
            max_bytes,
            parse: crate::channels::email::ParseSettings {
                own_domains: own_domains
                    .into_iter()
                    .map(|d| d.trim().to_ascii_lowercase())
                    .filter(|d| !d.is_empty())
                    .collect(),
                max_attachment_bytes: max_bytes as u64,
            },
            inbound: crate::channels::email::InboundSettings { from_proven },
        })
    }
}

/// What `POST /webhooks/telegram` checks and normalizes with.
#[derive(Clone, Debug)]
pub struct TelegramWebhook {
    pub secret: Secret,
    pub groups_enabled: bool,
    pub welcome_text: Option<String>,
}

impl From<&TelegramConfig> for TelegramWebhook {
    fn from(c: &TelegramConfig) -> Self {
        Self {
            secret: c.webhook_secret.clone(),
            groups_enabled: c.groups_enabled,
            welcome_text: c.welcome_text.clone(),
        }
    }
}
