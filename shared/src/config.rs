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
    /// Where the pages' times are told (`SWITCHBOARD_TIME_ZONE`); UTC unless set.
    pub time_zone: chrono_tz::Tz,
    /// Whether replies also go by email, and by SMS, to what a customer types on the form
    /// (the installation sends on that channel); the form says so.
    pub answers_by_email: bool,
    pub answers_by_sms: bool,
}

impl PageConfig {
    /// `title` none: the page language's word for support.
    pub fn new(
        title: Option<String>,
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
        let title = title.unwrap_or_else(|| {
            match language.as_str() {
                "fa" => "پشتیبانی",
                _ => "Support",
            }
            .to_owned()
        });
        Ok(Self {
            title,
            color,
            logo_url,
            language,
            time_zone: chrono_tz::Tz::UTC,
            answers_by_email: false,
            answers_by_sms: false,
        })
    }

    /// The same pages, their times told in `zone` (an IANA name such as `Asia/Tehran`).
    pub fn in_time_zone(self, zone: &str) -> Result<Self, String> {
        let time_zone = zone.parse().map_err(|_| {
            format!("`{zone}` is not a time zone: use an IANA name such as Asia/Tehran or UTC")
        })?;
        Ok(Self { time_zone, ..self })
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

/// The shortest webhook secret we take: it is all that guards the route. Telegram itself
/// accepts a single character.
pub const MIN_WEBHOOK_SECRET_LEN: usize = 16;

/// A webhook secret token Telegram accepts (`A-Z a-z 0-9 _ -`, at most 256) and long
/// enough not to be guessed: at least [`MIN_WEBHOOK_SECRET_LEN`] characters.
pub fn check_webhook_secret(secret: &str) -> Result<(), String> {
    let alphabet_ok = secret
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if !alphabet_ok || secret.len() > 256 {
        return Err(
            "the Telegram webhook secret must be 16–256 of A-Z a-z 0-9 _ - (Telegram's alphabet)"
                .into(),
        );
    }
    if secret.len() < MIN_WEBHOOK_SECRET_LEN {
        return Err(format!(
            "the Telegram webhook secret is {} characters long; it must be at least \
             {MIN_WEBHOOK_SECRET_LEN} (e.g. `openssl rand -hex 32`)",
            secret.len()
        ));
    }
    Ok(())
}

/// Where replies by SMS come from: a number of the account, or a Messaging Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TwilioSender {
    From(crate::model::PhoneNumber),
    MessagingService(String),
}

/// The Twilio account, when one is configured: SMS in and out, voice calls in.
#[derive(Clone, Debug)]
pub struct TwilioConfig {
    /// `AC…`.
    pub account_sid: String,
    /// Signs Twilio's webhook calls and authenticates ours.
    pub auth_token: Secret,
    /// `https://api.twilio.com`, or a stand-in.
    pub api_url: String,
    /// The public base URL Twilio calls (`https://support.example.com`); the signature
    /// covers the URL exactly as Twilio requested it. `None`: the scheme and host of each
    /// webhook call (behind API Gateway's own URL, whose name the template cannot hand to
    /// the function it routes to), and replies sent without a status callback.
    pub public_url: Option<String>,
    pub sender: Option<TwilioSender>,
    /// What callers to the number hear, and where their calls go.
    pub voice: crate::channels::twilio::voice::VoiceSettings,
}

impl TwilioConfig {
    pub fn new(
        account_sid: String,
        auth_token: String,
        api_url: String,
        public_url: Option<String>,
        sender: Option<TwilioSender>,
    ) -> Result<Self, String> {
        let sid_ok = account_sid.len() == 34
            && account_sid.starts_with("AC")
            && account_sid[2..].chars().all(|c| c.is_ascii_hexdigit());
        if !sid_ok {
            return Err("the Twilio account SID should be AC followed by 32 hex digits".into());
        }
        if auth_token.trim().is_empty() {
            return Err("the Twilio auth token is empty".into());
        }
        let urls = [("API", Some(&api_url)), ("public", public_url.as_ref())];
        for (what, value) in urls.into_iter().filter_map(|(w, v)| Some((w, v?))) {
            let url = url::Url::parse(value)
                .map_err(|e| format!("the Twilio {what} URL `{value}` is not a URL: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(format!("the Twilio {what} URL must be http:// or https://"));
            }
        }
        if let Some(TwilioSender::MessagingService(sid)) = &sender
            && !(sid.starts_with("MG") && sid.len() == 34)
        {
            return Err("a Messaging Service SID is MG followed by 32 hex digits".into());
        }
        Ok(Self {
            account_sid,
            auth_token: Secret::new(auth_token),
            api_url: api_url.trim_end_matches('/').to_owned(),
            public_url: public_url.map(|url| url.trim_end_matches('/').to_owned()),
            sender,
            voice: crate::channels::twilio::voice::VoiceSettings::default(),
        })
    }

    /// The URL Twilio calls for `path` (`/webhooks/twilio/sms`), when the public base
    /// URL is configured.
    pub fn public(&self, path: &str) -> Option<String> {
        self.public_url.as_ref().map(|base| format!("{base}{path}"))
    }
}

/// The PBX / CTI hook, when a secret is configured.
#[derive(Clone, Debug)]
pub struct PbxConfig {
    /// Keys the HMAC-SHA256 every call to `POST /webhooks/pbx` is signed with.
    pub secret: Secret,
    /// How far a call's timestamp may be from our clock, in seconds.
    pub window_secs: i64,
}

impl PbxConfig {
    pub fn new(secret: String, window_secs: i64) -> Result<Self, String> {
        if secret.len() < 16 {
            return Err("the PBX secret must be at least 16 characters".into());
        }
        if !(1..=3600).contains(&window_secs) {
            return Err("the PBX time window must be 1–3600 seconds".into());
        }
        Ok(Self {
            secret: Secret::new(secret),
            window_secs,
        })
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
    /// The abuse limits on the public routes, and where the client's address comes from.
    pub limits: PublicLimits,
    pub page: PageConfig,
    /// The Telegram webhook's settings; none when no bot is configured.
    pub telegram: Option<TelegramWebhook>,
    /// The Twilio webhooks' settings; none when no account is configured.
    pub twilio: Option<TwilioConfig>,
    /// The PBX hook's settings; none when no secret is configured.
    pub pbx: Option<PbxConfig>,
    /// The email webhook's settings; none when it is off.
    pub email: Option<EmailWebhook>,
}

/// How much one client, and one customer link, may post to the public routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicLimits {
    /// Web-form submissions and customer-page answers per client address per minute, one
    /// budget for both; 0 turns the limit off.
    pub per_address_per_minute: u32,
    /// Answers on one customer page (one link) per minute, from every address together;
    /// 0 turns the limit off.
    pub per_link_per_minute: u32,
    /// How many proxies of yours stand in front of the server, each appending the address
    /// it was reached from to `X-Forwarded-For`: the client's address is the entry that
    /// many places from the right. 0: the connection's peer, and the header is ignored.
    pub trusted_proxy_hops: u8,
}

/// The proxy hops from the two settings that name them: `SWITCHBOARD_TRUSTED_PROXY_HOPS`,
/// and the older `SWITCHBOARD_TRUST_PROXY=true`, which means one hop.
pub fn trusted_proxy_hops(trust_proxy: bool, hops: Option<u8>) -> Result<u8, String> {
    match (trust_proxy, hops) {
        (true, Some(0)) => Err(
            "SWITCHBOARD_TRUST_PROXY=true and SWITCHBOARD_TRUSTED_PROXY_HOPS=0 disagree: \
             set only SWITCHBOARD_TRUSTED_PROXY_HOPS"
                .into(),
        ),
        (_, Some(hops)) => Ok(hops),
        (true, None) => Ok(1),
        (false, None) => Ok(0),
    }
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
            inbound: crate::channels::email::InboundSettings {
                from_proven,
                notes: Vec::new(),
            },
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

/// Replies by email through an SMTP relay (the local server).
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// `smtp://host:port` (plain, for a relay on this machine), `smtp://…?tls=required`
    /// (STARTTLS), `smtps://…` (TLS); `user:password@` for a relay that wants a login.
    pub url: Secret,
    pub outbound: crate::channels::email::outbound::OutboundSettings,
}

impl SmtpConfig {
    /// `outbound`: who replies come from and where customers answer.
    pub fn new(
        url: String,
        outbound: crate::channels::email::outbound::OutboundSettings,
    ) -> Result<Self, String> {
        let parsed = url::Url::parse(&url).map_err(|_| "the SMTP URL is not a URL".to_owned())?;
        if !matches!(parsed.scheme(), "smtp" | "smtps") || parsed.host_str().is_none() {
            return Err("the SMTP URL must be smtp://host[:port] or smtps://host[:port]".into());
        }
        Ok(Self {
            url: Secret::new(url),
            outbound,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_telegram_webhook_secret_needs_sixteen_characters_of_telegrams_alphabet() {
        assert!(check_webhook_secret("e2e-webhook_Secret-0123456789").is_ok());
        assert!(check_webhook_secret(&"a".repeat(16)).is_ok());
        assert!(check_webhook_secret(&"a".repeat(256)).is_ok());
        let short = check_webhook_secret(&"a".repeat(15)).unwrap_err();
        assert!(short.contains("at least 16"), "{short}");
        for bad in [
            "",
            "x",
            &"a".repeat(257),
            "sixteen chars ok!",
            "ünïcödé-sixteen-chars",
        ] {
            assert!(check_webhook_secret(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn trust_proxy_means_one_hop_and_the_hop_count_says_more() {
        assert_eq!(trusted_proxy_hops(false, None), Ok(0));
        assert_eq!(trusted_proxy_hops(true, None), Ok(1));
        assert_eq!(trusted_proxy_hops(false, Some(2)), Ok(2));
        assert_eq!(trusted_proxy_hops(true, Some(2)), Ok(2));
        assert!(trusted_proxy_hops(true, Some(0)).is_err());
    }
}

/// Outbound webhooks: where they may go and how often a failed one is tried again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Hosts allowed although they are, or resolve to, internal addresses
    /// (`SWITCHBOARD_WEBHOOK_ALLOW_HOSTS`).
    pub allowed_hosts: Vec<String>,
    /// The waits between tries (`SWITCHBOARD_WEBHOOK_RETRY_SECONDS`).
    pub schedule: crate::services::webhooks::retry::RetrySchedule,
}
