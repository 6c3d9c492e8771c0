//! Signing in and out of the web inbox, and the sessions admins see and end.

use crate::http::ApiState;
use crate::http::auth::{Admin, BrowserSession, Caller, SESSION_COOKIE};
use crate::http::limits::WithinSignInLimit;
use crate::http::problem::{ApiError, ApiJson, ApiPath, Problem};
use crate::model::{Agent, AgentId};
use crate::ports::Session;
use crate::services::ServiceError;
use crate::services::sign_in::{SESSION_LIFETIME, SignInError};
use axum::Json;
use axum::extract::State;
use axum::http::header::{SET_COOKIE, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    #[schema(format = "email", max_length = 320)]
    email: String,
    #[schema(max_length = 256)]
    password: String,
}

/// The signed-in agent, and the token their browser sends with every change.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    agent: Agent,
    /// Send it in `X-CSRF-Token` with every request that changes anything.
    csrf_token: String,
    expires_at: DateTime<Utc>,
}

/// A session as admins see it (never its secret or its token).
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    id: String,
    agent_id: AgentId,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// The browser it was opened in.
    user_agent: Option<String>,
}

impl From<Session> for SessionView {
    fn from(s: Session) -> Self {
        Self {
            id: s.id,
            agent_id: s.agent_id,
            created_at: s.created_at,
            expires_at: s.expires_at,
            user_agent: s.user_agent,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionList {
    sessions: Vec<SessionView>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// 12 to 256 characters.
    #[schema(min_length = 12, max_length = 256)]
    password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    current_password: String,
    /// 12 to 256 characters.
    #[schema(min_length = 12, max_length = 256)]
    new_password: String,
}

/// A lockout (429 with how long it lasts) or a failure.
fn refused(e: SignInError) -> ApiError {
    match e {
        SignInError::Locked(until) => ApiError::too_many(
            (until - Utc::now()).to_std().unwrap_or_default(),
            "too many wrong passwords: this account is locked for 15 minutes",
        ),
        SignInError::Wrong => ApiError::unauthorized(),
        SignInError::Failed(e) => e.into(),
    }
}

/// The cookie that holds the session: only this site's requests carry it (SameSite),
/// scripts cannot read it (HttpOnly) and it travels only over HTTPS (Secure; browsers
/// count `localhost` as secure).
pub(crate) fn session_cookie(value: &str, max_age: chrono::Duration) -> HeaderValue {
    let cookie = cookie::Cookie::build((SESSION_COOKIE, value))
        .path("/")
        .http_only(true)
        .secure(true)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(max_age.num_seconds()))
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static(""))
}

fn with_cookie(response: impl IntoResponse, cookie: HeaderValue) -> Response {
    let mut response = response.into_response();
    response.headers_mut().append(SET_COOKIE, cookie);
    response
}

/// Sign in with email and password: the answer sets the session cookie and gives the
/// CSRF token. Ten tries at one email from one network (an agent's or not) without a
/// sign-in refuse that network there for 15 minutes, and a hundred wrong passwords from
/// everywhere lock the agent out for as long; one address may try 30 times a minute.
#[utoipa::path(post, path = "/v1/session", tag = "session", request_body = SignIn,
    responses((status = 200, body = SessionInfo, headers(("Set-Cookie" = String, description = "the session cookie"))),
              (status = 401, body = Problem, description = "the email or the password is wrong"),
              (status = 422, body = Problem),
              (status = 429, body = Problem, description = "locked out, or too many tries from this address")),
    security(()))]
pub async fn sign_in(
    State(state): State<ApiState>,
    WithinSignInLimit(client): WithinSignInLimit,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    let user_agent = headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
    let signed_in = state
        .directory
        .sign_in(body.email.trim(), &body.password, user_agent, &client)
        .await
        .map_err(|e| match e {
            SignInError::Wrong => ApiError::new(StatusCode::UNAUTHORIZED, e.to_string()),
            other => refused(other),
        })?;
    let info = SessionInfo {
        agent: signed_in.agent,
        csrf_token: signed_in.session.csrf_token,
        expires_at: signed_in.session.expires_at,
    };
    Ok(with_cookie(
        Json(info),
        session_cookie(&signed_in.cookie, SESSION_LIFETIME),
    ))
}

/// The browser's session: who is signed in, and the CSRF token (401 when signed out).
#[utoipa::path(get, path = "/v1/session", tag = "session",
    responses((status = 200, body = SessionInfo), (status = 401, body = Problem)),
    security(("session" = [])))]
pub async fn current(browser: BrowserSession) -> Json<SessionInfo> {
    Json(SessionInfo {
        agent: browser.agent,
        csrf_token: browser.session.csrf_token,
        expires_at: browser.session.expires_at,
    })
}

/// Sign out: the session ends here and everywhere its cookie was copied.
#[utoipa::path(delete, path = "/v1/session", tag = "session",
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem, description = "no CSRF token")),
    security(("session" = [])))]
pub async fn sign_out(
    State(state): State<ApiState>,
    browser: BrowserSession,
) -> Result<Response, ApiError> {
    state.directory.end_session(&browser.session.id).await?;
    Ok(with_cookie(
        StatusCode::NO_CONTENT,
        session_cookie("", chrono::Duration::zero()),
    ))
}

/// Every open session, newest first.
#[utoipa::path(get, path = "/v1/sessions", tags = ["session", "admin"],
    responses((status = 200, body = SessionList), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_sessions(
    State(state): State<ApiState>,
    _: Admin,
) -> Result<Json<SessionList>, ApiError> {
    let sessions = state.directory.sessions().await?;
    Ok(Json(SessionList {
        sessions: sessions.into_iter().map(SessionView::from).collect(),
    }))
}

/// End a session: its browser is signed out at its next request.
#[utoipa::path(delete, path = "/v1/sessions/{id}", tags = ["session", "admin"],
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn end_session(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if state.directory.end_session(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("session"))
    }
}

/// Set an agent's password (for the web inbox); their sessions end.
#[utoipa::path(put, path = "/v1/agents/{id}/password", tags = ["agents", "admin"],
    params(("id" = AgentId, Path)), request_body = SetPassword,
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn set_password(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<AgentId>,
    ApiJson(body): ApiJson<SetPassword>,
) -> Result<StatusCode, ApiError> {
    state.directory.set_password(id, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change your own password, giving the one you have (an agent signed in by a one-time
/// link, who has none yet, sets one with any `current_password`); every session you had
/// ends (sign in again with the new one).
#[utoipa::path(put, path = "/v1/me/password", tag = "agents", request_body = ChangePassword,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem),
              (status = 429, body = Problem, description = "locked out after wrong passwords")),
    security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<ApiState>,
    Caller(agent): Caller,
    ApiJson(body): ApiJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    state
        .directory
        .change_password(agent.id, &body.current_password, &body.new_password)
        .await
        .map_err(|e| match e {
            SignInError::Wrong => ApiError::invalid("the current password is wrong"),
            SignInError::Failed(ServiceError::NotFound(_)) => ApiError::unauthorized(),
            other => refused(other),
        })?;
    Ok(StatusCode::NO_CONTENT)
}
