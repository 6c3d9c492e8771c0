//! The one check of a webhook that authenticates its caller by a shared secret in a
//! header (Telegram's secret token, the email relay's secret), as an extractor: the
//! route is off (404) without its settings; a call without the right secret, compared
//! in constant time, is refused with a 401 that names the header, and logged.

use crate::config::{EmailWebhook, HttpConfig, Secret, TelegramWebhook};
use crate::http::ChannelState;
use crate::http::problem::ApiError;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;

/// A webhook whose caller proves itself with a shared secret in one header.
pub trait SecretWebhook: Clone + Send + Sync + 'static {
    /// The header, lower case.
    const HEADER: &'static str;
    /// The header as its senders spell it, for the refusal and the log.
    const SHOWN: &'static str;
    /// The route's settings; none: the route is off.
    fn settings(config: &HttpConfig) -> Option<&Self>;
    fn secret(&self) -> &Secret;
}

impl SecretWebhook for TelegramWebhook {
    const HEADER: &'static str = "x-telegram-bot-api-secret-token";
    const SHOWN: &'static str = "X-Telegram-Bot-Api-Secret-Token";
    fn settings(config: &HttpConfig) -> Option<&Self> {
        config.telegram.as_ref()
    }
    fn secret(&self) -> &Secret {
        &self.secret
    }
}

impl SecretWebhook for EmailWebhook {
    const HEADER: &'static str = "x-switchboard-email-secret";
    const SHOWN: &'static str = "X-Switchboard-Email-Secret";
    fn settings(config: &HttpConfig) -> Option<&Self> {
        config.email.as_ref()
    }
    fn secret(&self) -> &Secret {
        &self.secret
    }
}

/// The route's settings, once the caller showed the right secret.
pub struct Verified<W>(pub W);

impl<W: SecretWebhook, S: Send + Sync> FromRequestParts<S> for Verified<W>
where
    ChannelState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = ChannelState::from_ref(state);
        let Some(settings) = W::settings(&state.config) else {
            return Err(ApiError::not_found("route"));
        };
        let presented = parts
            .headers
            .get(W::HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if bool::from(presented.ct_eq(settings.secret().expose().as_bytes())) {
            return Ok(Self(settings.clone()));
        }
        tracing::warn!(
            header = W::SHOWN,
            "webhook call without the right secret refused"
        );
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            format!("the {} header is missing or wrong", W::SHOWN),
        ))
    }
}
