//! Each agent's own notifications: what they hear about, and the Telegram chat they hear
//! it in (linked by sending the bot a one-time code).

use crate::http::ApiState;
use crate::http::auth::Caller;
use crate::http::problem::{ApiError, ApiJson, Problem};
use crate::model::NoticePrefs;
use crate::services::notify::{LinkStarted, NotificationsView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

/// Your notification settings.
#[utoipa::path(get, path = "/v1/me/notifications", tag = "agents",
    responses((status = 200, body = NotificationsView), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    Caller(agent): Caller,
) -> Result<Json<NotificationsView>, ApiError> {
    Ok(Json(state.notifications.view(agent.id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrefsBody {
    /// A conversation was assigned to you (by someone else, or a rule).
    assigned: bool,
    /// A customer wrote in a conversation assigned to you.
    messages: bool,
    /// A service-level target ran out in a conversation of yours (or, unassigned, of
    /// your team).
    sla: bool,
    /// A note mentioned you (`@` and your email's local part, or your name without
    /// spaces).
    mentions: bool,
    /// Be told by email too, at your agent address (where email replies are set up).
    #[serde(default)]
    email: bool,
}

/// Choose what you hear about.
#[utoipa::path(put, path = "/v1/me/notifications", tag = "agents", request_body = PrefsBody,
    responses((status = 200, body = NotificationsView), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn put(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiJson(body): ApiJson<PrefsBody>,
) -> Result<Json<NotificationsView>, ApiError> {
    let prefs = NoticePrefs {
        assigned: body.assigned,
        messages: body.messages,
        sla: body.sla,
        mentions: body.mentions,
        email: body.email,
    };
    Ok(Json(state.notifications.set_prefs(agent.id, prefs).await?))
}

/// A one-time code that links your Telegram chat: send `command` to the bot within 15
/// minutes. A new code voids the one before.
#[utoipa::path(post, path = "/v1/me/notifications/telegram", tag = "agents",
    responses((status = 201, body = LinkStarted), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn start_link(
    State(state): State<ApiState>,
    Caller(agent): Caller,
) -> Result<(StatusCode, Json<LinkStarted>), ApiError> {
    let started = state
        .notifications
        .start_link(agent.id, chrono::Utc::now())
        .await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// Unlink your Telegram chat: it hears nothing more.
#[utoipa::path(delete, path = "/v1/me/notifications/telegram", tag = "agents",
    responses((status = 200, body = NotificationsView), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn unlink(
    State(state): State<ApiState>,
    Caller(agent): Caller,
) -> Result<Json<NotificationsView>, ApiError> {
    Ok(Json(state.notifications.unlink(agent.id).await?))
}
