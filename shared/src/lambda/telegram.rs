//! The Telegram bot on AWS. Its token and its webhook's secret token live in SSM
//! SecureStrings; each function reads the one it needs, once, at start.

use super::Error;
use super::config::TelegramSettings;
use crate::aws::AwsClients;
use crate::channels::telegram::{BotApi, TelegramSender};
use crate::config::{Secret, TelegramWebhook, check_bot_token, check_webhook_secret};
use std::sync::Arc;

/// The bot, for replies (sender) and file downloads (router).
pub async fn bot(
    clients: &AwsClients,
    settings: &TelegramSettings,
) -> Result<Arc<TelegramSender>, Error> {
    let token = clients
        .secret_parameter(&settings.bot_token_parameter)
        .await?;
    check_bot_token(&token).map_err(|e| format!("{}: {e}", settings.bot_token_parameter))?;
    let api = BotApi::new(&settings.api_url, Secret::new(token))?;
    Ok(Arc::new(TelegramSender::sharing_pace(
        api,
        settings.senders,
    )))
}

/// What the webhook checks and normalizes updates with.
pub async fn webhook(
    clients: &AwsClients,
    settings: &TelegramSettings,
) -> Result<TelegramWebhook, Error> {
    let parameter = settings
        .webhook_secret_parameter
        .as_deref()
        .ok_or("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET_PARAMETER is not set")?;
    let secret = clients.secret_parameter(parameter).await?;
    check_webhook_secret(&secret).map_err(|e| format!("{parameter}: {e}"))?;
    Ok(TelegramWebhook {
        secret: Secret::new(secret),
        groups_enabled: settings.groups_enabled,
        welcome_text: settings.welcome_text.clone(),
    })
}
