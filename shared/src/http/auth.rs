//! Who is asking: a program with a bearer API key, or a person's browser with the
//! session cookie a sign-in set. Checked in extractors, so handlers only ever see an
//! agent. A browser's request that changes anything must also carry the session's CSRF
//! token in `X-CSRF-Token`: another site can make the browser send the cookie, never
//! read the token.

use super::ApiState;
use super::problem::ApiError;
use crate::model::{Agent, Role};
use crate::ports::Session;
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use subtle::ConstantTimeEq;

/// The cookie that holds a browser's session (`<id>.<secret>`). The `__Host-` prefix
/// makes browsers take it only from this host, over HTTPS, for every path: a sibling
/// subdomain cannot plant one of its own.
pub const SESSION_COOKIE: &str = "__Host-sb_session";
/// The header a browser sends the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The agent whose key or session signed the request.
pub struct Caller(pub Agent);

/// The caller, who must be an admin.
pub struct Admin(pub Agent);

/// The caller's browser session (a request signed by an API key has none).
pub struct BrowserSession {
    pub agent: Agent,
    pub session: Session,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// The session cookie's value, when the request carries exactly one (two are a cookie
/// planted beside ours, and open nothing).
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    let mut found = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned());
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// Whether the method only reads (and so needs no CSRF token).
fn reads_only(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn csrf_holds(parts: &Parts, session: &Session) -> bool {
    reads_only(&parts.method)
        || parts
            .headers
            .get(CSRF_HEADER)
            .is_some_and(|v| bool::from(v.as_bytes().ct_eq(session.csrf_token.as_bytes())))
}

impl FromRequestParts<ApiState> for BrowserSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let cookie = session_cookie(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        let (agent, session) = state
            .directory
            .session(&cookie)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        if !csrf_holds(parts, &session) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "this change needs the session's CSRF token in X-CSRF-Token",
            ));
        }
        Ok(Self { agent, session })
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let Some(key) = bearer(&parts.headers) else {
            let BrowserSession { agent, .. } =
                BrowserSession::from_request_parts(parts, state).await?;
            return Ok(Self(agent));
        };
        let agent = state
            .directory
            .authenticate(key)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        Ok(Self(agent))
    }
}

impl FromRequestParts<ApiState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(agent) = Caller::from_request_parts(parts, state).await?;
        if agent.role != Role::Admin {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "this needs an admin"));
        }
        Ok(Self(agent))
    }
}
