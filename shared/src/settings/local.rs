//! What only the local server reads: the SQLite file, the listener's limits, and each
//! channel's secrets given directly (on AWS they are SSM parameter names).

use super::schema as s;
use super::{ConfigError, EmailOptions, Settings, TelegramOptions, TwilioAccount, Vars};
use crate::config::{
    EmailWebhook, PbxConfig, SmtpConfig, TelegramConfig, TelegramWebhook, TwilioConfig,
    check_webhook_secret,
};
use crate::local::LocalSettings;
use crate::server::ServerLimits;
use std::path::PathBuf;

impl LocalSettings {
    /// The shared settings (with the address the server answers on filled in) and the
    /// local server's own.
    pub fn read(vars: &Vars, settings: Settings) -> Result<Self, ConfigError> {
        let db_path = db_path(vars);
        let blob_dir = blob_dir(vars, &db_path);
        let server = ServerLimits::new(
            vars.number(&s::HEADER_TIMEOUT_SECS)?,
            vars.number(&s::REQUEST_TIMEOUT_SECS)?,
            vars.number(&s::MAX_CONNECTIONS)?,
            vars.number(&s::MAX_CONNECTIONS_PER_CLIENT)?,
            settings.http.limits.trusted_proxy_hops > 0,
        )
        .map_err(ConfigError::naming(
            &[
                ("header", &s::HEADER_TIMEOUT_SECS),
                ("request", &s::REQUEST_TIMEOUT_SECS),
                ("per client", &s::MAX_CONNECTIONS_PER_CLIENT),
            ],
            &s::MAX_CONNECTIONS,
        ))?;
        let telegram = telegram(vars, &settings.telegram)?;
        let notify_every: u64 = vars.number(&s::NOTIFY_EVERY_SECS)?;
        if notify_every == 0 {
            return Err(ConfigError::new(&s::NOTIFY_EVERY_SECS, "must be 1 or more"));
        }
        let twilio = twilio(vars, settings.twilio.as_ref())?;
        let mut http = settings.http;
        http.telegram = telegram.as_ref().map(TelegramWebhook::from);
        http.email = email_webhook(vars, &settings.email)?;
        http.twilio = twilio.clone();
        http.pbx = pbx(vars, settings.pbx_window_secs)?;
        Ok(Self {
            db_path,
            blob_dir,
            http,
            route: settings.route,
            telegram,
            twilio,
            smtp: smtp(vars, &settings.email)?,
            server,
            retention: settings.retention,
            away_after_idle: settings.away_after_idle,
            webhooks: settings.webhooks,
            notify_every: std::time::Duration::from_secs(notify_every),
            llm: settings.llm.map(|options| {
                let key = vars.given(&s::LLM_API_KEY).map(crate::config::Secret::new);
                (options, key)
            }),
        })
    }
}

/// The SQLite file.
pub fn db_path(vars: &Vars) -> PathBuf {
    PathBuf::from(vars.text(&s::DB).unwrap_or_default())
}

/// The attachments' folder: `<db>.blobs` beside the SQLite file unless set.
pub fn blob_dir(vars: &Vars, db_path: &std::path::Path) -> PathBuf {
    vars.given(&s::BLOB_DIR)
        .map(PathBuf::from)
        .unwrap_or_else(|| db_path.with_extension("blobs"))
}

/// The Telegram bot; none without a token.
pub fn telegram(
    vars: &Vars,
    options: &TelegramOptions,
) -> Result<Option<TelegramConfig>, ConfigError> {
    let Some(token) = vars.given(&s::TELEGRAM_BOT_TOKEN) else {
        return Ok(None);
    };
    let secret = vars.given(&s::TELEGRAM_WEBHOOK_SECRET).ok_or_else(|| {
        ConfigError::new(&s::TELEGRAM_WEBHOOK_SECRET, "is required with a bot token")
    })?;
    check_webhook_secret(&secret).map_err(ConfigError::of(&s::TELEGRAM_WEBHOOK_SECRET))?;
    TelegramConfig::new(
        token,
        secret,
        options.api_url.clone(),
        options.welcome_text.clone(),
        options.groups_enabled,
    )
    .map(Some)
    .map_err(ConfigError::naming(
        &[
            ("welcome", &s::TELEGRAM_WELCOME_TEXT),
            ("API URL", &s::TELEGRAM_API_URL),
        ],
        &s::TELEGRAM_BOT_TOKEN,
    ))
}

/// The Twilio account with its auth token; none without an account.
fn twilio(
    vars: &Vars,
    account: Option<&TwilioAccount>,
) -> Result<Option<TwilioConfig>, ConfigError> {
    let Some(account) = account else {
        return Ok(None);
    };
    let token = vars.given(&s::TWILIO_AUTH_TOKEN).ok_or_else(|| {
        ConfigError::new(&s::TWILIO_AUTH_TOKEN, "is required with an account SID")
    })?;
    account
        .config(token)
        .map(Some)
        .map_err(ConfigError::of(&s::TWILIO_AUTH_TOKEN))
}

/// The PBX hook; none without a secret.
fn pbx(vars: &Vars, window_secs: i64) -> Result<Option<PbxConfig>, ConfigError> {
    vars.given(&s::PBX_SECRET)
        .map(|secret| {
            PbxConfig::new(secret, window_secs).map_err(ConfigError::naming(
                &[("window", &s::PBX_WINDOW_SECS)],
                &s::PBX_SECRET,
            ))
        })
        .transpose()
}

/// `POST /webhooks/email`; none without its secret.
fn email_webhook(vars: &Vars, email: &EmailOptions) -> Result<Option<EmailWebhook>, ConfigError> {
    let Some(secret) = vars.given(&s::EMAIL_WEBHOOK_SECRET) else {
        return Ok(None);
    };
    EmailWebhook::new(
        secret,
        email.max_bytes,
        email.own_domains.clone(),
        vars.switch(&s::EMAIL_FROM_PROVEN)?,
    )
    .map(Some)
    .map_err(ConfigError::naming(
        &[("size", &s::EMAIL_MAX_BYTES)],
        &s::EMAIL_WEBHOOK_SECRET,
    ))
}

/// Replies by email through an SMTP relay; none without its URL.
fn smtp(vars: &Vars, email: &EmailOptions) -> Result<Option<SmtpConfig>, ConfigError> {
    let Some(url) = vars.given(&s::SMTP_URL) else {
        return Ok(None);
    };
    let outbound = email.outbound.clone().ok_or_else(|| {
        ConfigError::new(&s::SMTP_URL, "needs SWITCHBOARD_EMAIL_FROM (--email-from)")
    })?;
    SmtpConfig::new(url, outbound)
        .map(Some)
        .map_err(ConfigError::of(&s::SMTP_URL))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<LocalSettings, ConfigError> {
        let vars = Vars::of(vars);
        let settings = Settings::read(&vars)?;
        LocalSettings::read(&vars, settings)
    }

    #[test]
    fn a_channel_setting_given_wrong_names_itself() {
        let bot = [
            ("SWITCHBOARD_TELEGRAM_BOT_TOKEN", "123456:ABC-def"),
            (
                "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET",
                "e2e-webhook_Secret-0123456789",
            ),
        ];
        let long = "x".repeat(4097);
        let err = read(&[
            bot[0],
            bot[1],
            ("SWITCHBOARD_TELEGRAM_WELCOME_TEXT", long.as_str()),
        ])
        .unwrap_err();
        assert_eq!(err.name, "SWITCHBOARD_TELEGRAM_WELCOME_TEXT", "{err}");
        let err = read(&[bot[0]]).unwrap_err();
        assert_eq!(err.name, "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET", "{err}");
        let pbx = ("SWITCHBOARD_PBX_SECRET", "a-shared-secret-of-the-pbx");
        let err = read(&[pbx, ("SWITCHBOARD_PBX_WINDOW_SECS", "0")]).unwrap_err();
        assert_eq!(err.name, "SWITCHBOARD_PBX_WINDOW_SECS", "{err}");
        let email = (
            "SWITCHBOARD_EMAIL_WEBHOOK_SECRET",
            "relay-secret-0123456789",
        );
        let err = read(&[email, ("SWITCHBOARD_EMAIL_MAX_BYTES", "100")]).unwrap_err();
        assert_eq!(err.name, "SWITCHBOARD_EMAIL_MAX_BYTES", "{err}");
        let err = read(&[("SWITCHBOARD_SMTP_URL", "smtp://127.0.0.1:2525")]).unwrap_err();
        assert_eq!(err.name, "SWITCHBOARD_SMTP_URL", "{err}");
        assert!(read(&bot).unwrap().telegram.is_some());
    }
}
