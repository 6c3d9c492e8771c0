//! `POST /webhooks/telegram`: check Telegram's secret token, normalize the update,
//! enqueue it, answer 200. Files are fetched later, behind the queue.

use crate::channels::telegram::{InboundSettings, Normalized, normalize, parse_update};
use crate::config::TelegramWebhook;
use crate::http::ChannelState;
use crate::http::problem::ApiError;
use crate::http::secret_header::Verified;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Largest update read; real ones are a few kilobytes.
pub const MAX_UPDATE_BYTES: usize = 256 * 1024;

pub async fn receive(
    Verified(config): Verified<TelegramWebhook>,
    State(state): State<ChannelState>,
    req: Request,
) -> Response {
    let body = match axum::body::to_bytes(req.into_body(), MAX_UPDATE_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the update is larger than {MAX_UPDATE_BYTES} bytes"),
            )
            .into_response();
        }
    };
    let update = match parse_update(&body) {
        Ok(update) => update,
        Err(detail) => return ApiError::bad_request(detail).into_response(),
    };
    let settings = InboundSettings {
        default_region: state.config.default_region,
        groups_enabled: config.groups_enabled,
        welcome_text: config.welcome_text,
    };
    match normalize(&update, &settings) {
        Normalized::Ignored(reason) => {
            // 200 all the same, or Telegram would keep sending it.
            tracing::info!(
                update_id = update.update_id,
                reason,
                "Telegram update ignored"
            );
        }
        Normalized::Message(message) => {
            if let Err(e) = state.ingest.submit(&*message).await {
                return ApiError::from(e).into_response();
            }
            tracing::info!(
                update_id = update.update_id,
                source_id = message.source_id.as_str(),
                "Telegram update queued"
            );
        }
        Normalized::News(news) => {
            if let Err(e) = state.ingest.submit(&*news).await {
                return ApiError::from(e).into_response();
            }
            tracing::info!(
                update_id = update.update_id,
                source_id = news.source_id().as_str(),
                "Telegram news queued"
            );
        }
    }
    StatusCode::OK.into_response()
}
