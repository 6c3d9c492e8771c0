//! Bearer API keys, checked in extractors so handlers only ever see an agent.

use super::ApiState;
use super::problem::ApiError;
use crate::model::{Agent, Role};
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

/// The agent whose key signed the request.
pub struct Caller(pub Agent);

/// The caller, who must be an admin.
pub struct Admin(pub Agent);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(ApiError::unauthorized)?;
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
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "this needs an admin's API key",
            ));
        }
        Ok(Self(agent))
    }
}
